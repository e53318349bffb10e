"""Convert two of the models inside the vendored ``face_landmarker.task`` to ONNX, so the
engine runs them in ONNX Runtime instead of running MediaPipe's whole tasks graph:

- ``face_blendshapes.tflite`` -> ``assets/mediapipe/face_blendshapes.onnx``: a small
  MLP-Mixer (1x1 convolutions, layer norms written out as mean/variance ops);
- ``face_landmarks_detector.tflite`` -> ``assets/mediapipe/face_landmarks.onnx``: the
  478-point landmark network (a CNN: convolutions, depthwise convolutions, PReLU, max
  pools) with its face-presence and tongue-out scores. TFLite is NHWC; the CNN runs NCHW in
  ONNX (one transpose at the input, one before each reshape and graph output).

    python scripts/export_mediapipe.py  # writes both files

Needs the ``tflite`` package (flatbuffer schema only; ``pip install tflite``), not at run
time. fp16 weights stay fp16 in the files. Each TFLite op is written as the ONNX ops that
compute the same thing; ``tests/test_mediapipe_method.py`` checks the results against the
tasks FaceLandmarker on real frames and that this script reproduces the files byte for byte.
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lprr.engine.face.tasks import TASK_MODEL, task_model_path

OUT = ROOT / "assets" / "mediapipe"
CNN_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "PRELU", "MAX_POOL_2D", "PAD", "RESHAPE")
# member of the .task -> (ONNX file, graph name, NCHW layout)
MODELS = {"face_blendshapes.tflite": ("face_blendshapes.onnx", "face_blendshapes", False),
          "face_landmarks_detector.tflite": ("face_landmarks.onnx", "face_landmarks", True)}


def tflite_bytes(task: Path, member: str) -> bytes:
    with zipfile.ZipFile(task) as z:
        return z.read(member)


def convert(buf: bytes, graph_name: str = "face_blendshapes", nchw: bool = False):
    """The TFLite flatbuffer ``buf`` as an ONNX model. ``nchw``: 4-D activations are NCHW
    inside the graph (convolutions run natively); the inputs and outputs stay NHWC."""
    import onnx
    import tflite
    from onnx import TensorProto, helper, numpy_helper

    m = tflite.Model.GetRootAsModel(buf, 0)
    g = m.Subgraphs(0)
    codes = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    np_type = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
               tflite.TensorType.INT32: np.int32, tflite.TensorType.INT64: np.int64}

    def const(t: int) -> np.ndarray | None:
        tt = g.Tensors(t)
        b = m.Buffers(tt.Buffer())
        if b.DataLength() == 0:
            return None
        return np.frombuffer(b.DataAsNumpy().tobytes(), np_type[tt.Type()]).reshape(
            tt.ShapeAsNumpy() if tt.ShapeLength() else ())

    consts: dict[int, np.ndarray] = {}
    for t in range(g.TensorsLength()):
        c = const(t)
        if c is not None:
            consts[t] = c
    nodes: list = []
    casts: list = []
    inits: dict = {}
    stored: set[str] = set()
    counter = [0]

    def tmp() -> str:
        counter[0] += 1
        return f"k{counter[0]}"

    def store(n: str, arr: np.ndarray) -> None:
        """An initializer; fp16 weights stay fp16 in the file (half the size) and are cast to
        float32 once, when ONNX Runtime folds the Cast at load."""
        if arr.dtype == np.float16:
            inits[n + "_h"] = numpy_helper.from_array(arr, n + "_h")
            casts.append(helper.make_node("Cast", [n + "_h"], [n], to=TensorProto.FLOAT))
        else:
            inits[n] = numpy_helper.from_array(arr, n)

    def name(t: int) -> str:
        if t in consts and f"t{t}" not in stored:
            stored.add(f"t{t}")
            store(f"t{t}", consts[t])
        return f"t{t}"

    def add_const(arr: np.ndarray) -> str:
        n = tmp()
        store(n, arr)
        return n

    acts = {tflite.ActivationFunctionType.RELU: "Relu"}

    def fused(out: str, act: int) -> str:
        """Where the op itself writes: ``out``, or a temporary its fused activation reads."""
        if act == tflite.ActivationFunctionType.NONE:
            return out
        if act not in acts:
            raise NotImplementedError(f"fused activation {act}")
        pre = tmp()
        post.append(helper.make_node(acts[act], [pre], [out]))
        return pre

    def options(op, cls):
        o = cls()
        tab = op.BuiltinOptions()
        o.Init(tab.Bytes, tab.Pos)
        return o

    def pad_mode(padding: int) -> str:  # TF's SAME puts the odd pixel last, as SAME_UPPER
        return "SAME_UPPER" if padding == tflite.Padding.SAME else "VALID"

    def to_nhwc(t: str) -> str:
        n = tmp()
        nodes.append(helper.make_node("Transpose", [t], [n], perm=[0, 2, 3, 1]))
        return n

    def cnn_op(kind: str, op, ins: list[int], x: list[str], out: str) -> None:
        """One op of a 4-D NHWC TFLite graph, written for NCHW activations."""
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            depthwise = kind == "DEPTHWISE_CONV_2D"
            o = options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
            w = consts[ins[1]]  # (O, kh, kw, I); depthwise (1, kh, kw, C * multiplier)
            cin = int(g.Tensors(ins[0]).ShapeAsNumpy()[3])
            args = [x[0], add_const(np.ascontiguousarray(w.transpose(3, 0, 1, 2) if depthwise
                                                          else w.transpose(0, 3, 1, 2)))]
            if len(ins) > 2 and ins[2] >= 0:
                args.append(name(ins[2]))
            nodes.append(helper.make_node(
                "Conv", args, [fused(out, o.FusedActivationFunction())],
                kernel_shape=list(w.shape[1:3]), strides=[o.StrideH(), o.StrideW()],
                dilations=[o.DilationHFactor(), o.DilationWFactor()],
                auto_pad=pad_mode(o.Padding()), group=cin if depthwise else 1))
        elif kind == "PRELU":
            # ONNX Runtime's PRelu with a per-channel slope s costs 3x the whole network on
            # CPU (it leaves the blocked NCHWc layout); the same values as 1x1 depthwise
            # convolutions it runs in that layout: prelu(y) = s*y + (1-s)*relu(y), with
            # (1-s)*relu(y) = sign(1-s) * relu(|1-s| * y) since the slopes lie on both sides of 1.
            slope = consts[ins[1]].astype(np.float32).reshape(-1)
            c = len(slope)

            def scale(src: str, v: np.ndarray) -> str:
                n = tmp()
                nodes.append(helper.make_node(
                    "Conv", [src, add_const(v.reshape(c, 1, 1, 1).astype(np.float32))], [n],
                    kernel_shape=[1, 1], group=c))
                return n

            r = tmp()
            nodes.append(helper.make_node("Relu", [scale(x[0], np.abs(1 - slope))], [r]))
            signed = r if (slope <= 1).all() else scale(r, np.sign(1 - slope))  # 26 of 69: +1
            nodes.append(helper.make_node("Add", [scale(x[0], slope), signed], [out]))
        elif kind == "MAX_POOL_2D":
            o = options(op, tflite.Pool2DOptions)
            nodes.append(helper.make_node(
                "MaxPool", [x[0]], [fused(out, o.FusedActivationFunction())],
                kernel_shape=[o.FilterHeight(), o.FilterWidth()],
                strides=[o.StrideH(), o.StrideW()], auto_pad=pad_mode(o.Padding())))
        elif kind == "PAD":  # (4, 2) NHWC begin/end pairs -> ONNX's NCHW begins, then ends
            p = consts[ins[1]].astype(np.int64)[[0, 3, 1, 2]]
            nodes.append(helper.make_node("Pad", [x[0], add_const(p.T.reshape(-1))], [out]))
        elif kind == "RESHAPE":  # TFLite reshapes NHWC memory
            shape = add_const(np.array(g.Tensors(op.Outputs(0)).ShapeAsNumpy(), np.int64))
            nodes.append(helper.make_node("Reshape", [to_nhwc(x[0]), shape], [out]))
        else:
            raise NotImplementedError(kind)

    if nchw:  # the graph's NHWC input, as the NCHW tensor its first op reads
        gi = g.Inputs(0)
        nodes.append(helper.make_node("Transpose", [f"in{gi}"], [f"t{gi}"], perm=[0, 3, 1, 2]))

    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        oc = m.OperatorCodes(op.OpcodeIndex())
        kind = codes[max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())]
        ins = [op.Inputs(j) for j in range(op.InputsLength())]
        out = f"t{op.Outputs(0)}"
        post: list = []  # a fused activation, after the op
        if kind == "DEQUANTIZE":  # fp16 weights: the same values, cast by store()
            consts[op.Outputs(0)] = consts[ins[0]]
            continue
        x = [name(t) for t in ins if t >= 0]
        if nchw and kind in CNN_OPS:
            cnn_op(kind, op, ins, x, out)
        elif kind in ("ADD", "MUL", "SUB", "DIV"):
            cls = {"ADD": tflite.AddOptions, "MUL": tflite.MulOptions,
                   "SUB": tflite.SubOptions, "DIV": tflite.DivOptions}[kind]
            act = options(op, cls).FusedActivationFunction()
            nodes.append(helper.make_node(kind.capitalize(), x, [fused(out, act)]))
        elif kind in ("MEAN", "SUM"):
            keep = options(op, tflite.ReducerOptions).KeepDims()
            axes = add_const(consts[ins[1]].astype(np.int64).reshape(-1))
            nodes.append(helper.make_node("ReduceMean" if kind == "MEAN" else "ReduceSum",
                                          [x[0], axes], [out], keepdims=int(keep)))
        elif kind == "SQRT":
            nodes.append(helper.make_node("Sqrt", x, [out]))
        elif kind == "RSQRT":
            s = tmp()
            nodes += [helper.make_node("Sqrt", x, [s]), helper.make_node("Reciprocal", [s], [out])]
        elif kind == "NEG":
            nodes.append(helper.make_node("Neg", x, [out]))
        elif kind == "LOGISTIC":  # (elementwise: either layout)
            nodes.append(helper.make_node("Sigmoid", x, [out]))
        elif kind == "SQUARED_DIFFERENCE":
            d = tmp()
            nodes += [helper.make_node("Sub", x, [d]), helper.make_node("Mul", [d, d], [out])]
        elif kind == "RESHAPE":
            shape = add_const(np.array(g.Tensors(op.Outputs(0)).ShapeAsNumpy(), np.int64))
            nodes.append(helper.make_node("Reshape", [x[0], shape], [out]))
        elif kind == "TRANSPOSE":
            perm = [int(v) for v in consts[ins[1]]]
            nodes.append(helper.make_node("Transpose", [x[0]], [out], perm=perm))
        elif kind == "CONCATENATION":
            o = options(op, tflite.ConcatenationOptions)
            nodes.append(helper.make_node("Concat", x, [fused(out, o.FusedActivationFunction())],
                                          axis=int(o.Axis())))
        elif kind == "STRIDED_SLICE":
            o = options(op, tflite.StridedSliceOptions)
            if o.EllipsisMask() or o.NewAxisMask():
                raise NotImplementedError("strided slice masks")
            begin, end, step = (consts[t].astype(np.int64).copy() for t in ins[1:4])
            big = np.iinfo(np.int64).max
            shrink = [a for a in range(len(begin)) if o.ShrinkAxisMask() >> a & 1]
            for a in range(len(begin)):
                if o.BeginMask() >> a & 1:
                    begin[a] = 0 if step[a] > 0 else big
                if o.EndMask() >> a & 1:
                    end[a] = big if step[a] > 0 else -big
                if a in shrink:  # one element, then the axis is dropped
                    end[a] = begin[a] + 1
            sliced = tmp() if shrink else out
            nodes.append(helper.make_node(
                "Slice", [x[0], add_const(begin), add_const(end),
                          add_const(np.arange(len(begin), dtype=np.int64)), add_const(step)],
                [sliced]))
            if shrink:
                nodes.append(helper.make_node(
                    "Squeeze", [sliced, add_const(np.array(shrink, np.int64))], [out]))
        elif kind == "CONV_2D":
            o = options(op, tflite.Conv2DOptions)
            w = consts[ins[1]]  # (O, kh, kw, I), NHWC input
            if w.shape[1:3] != (1, 1) or o.StrideH() != 1 or o.StrideW() != 1:
                raise NotImplementedError("only 1x1 stride-1 convolutions")
            res = fused(out, o.FusedActivationFunction())
            mm = tmp()
            wt = add_const(np.ascontiguousarray(w[:, 0, 0, :].T))
            nodes.append(helper.make_node("MatMul", [x[0], wt], [mm if len(x) > 2 else res]))
            if len(x) > 2:
                nodes.append(helper.make_node("Add", [mm, x[2]], [res]))
        else:
            raise NotImplementedError(kind)
        nodes += post

    used = {n for node in nodes for n in node.input}  # weights replaced above drop out
    casts = [c for c in casts if c.output[0] in used]
    used |= {c.input[0] for c in casts}
    inits = {k: v for k, v in inits.items() if k in used}
    nodes = casts + nodes
    gi = g.Inputs(0)
    inp = helper.make_tensor_value_info(f"in{gi}" if nchw else f"t{gi}", TensorProto.FLOAT,
                                        [int(v) for v in g.Tensors(gi).ShapeAsNumpy()])
    outs = []
    for k in range(g.OutputsLength()):
        go = g.Outputs(k)
        shape = [int(v) for v in g.Tensors(go).ShapeAsNumpy()]
        n = f"t{go}"
        if nchw and len(shape) == 4:
            nodes.append(helper.make_node("Transpose", [n], [f"out{go}"], perm=[0, 2, 3, 1]))
            n = f"out{go}"
        outs.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, shape))
    graph = helper.make_graph(nodes, graph_name, [inp], outs, list(inits.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)],
                              producer_name="lprr scripts/export_mediapipe.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", type=Path, default=TASK_MODEL)
    ap.add_argument("--out", type=Path, default=OUT, help="folder the ONNX files go to")
    a = ap.parse_args(argv)
    import onnx

    a.out.mkdir(parents=True, exist_ok=True)
    for member, (fname, graph_name, nchw) in MODELS.items():
        model = convert(tflite_bytes(task_model_path(a.task), member), graph_name, nchw)
        dest = a.out / fname
        onnx.save(model, dest)
        print(f"wrote {dest} ({dest.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
