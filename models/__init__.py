"""PyTorch side of lprr: RM and WEM networks, datasets, training loops and ONNX export."""
