"""Writes reference.safetensors with the safetensors library itself (NumPy flavour).

Run: pip install safetensors numpy && python3 Tests/Fixtures/safetensors/generate.py
The tests read the committed file and check these exact values, so Heed's reader is
checked against the format's own implementation, not against Heed's writer.
"""
import os

import numpy as np
from safetensors.numpy import save_file

here = os.path.dirname(os.path.abspath(__file__))
tensors = {
    "conv0.weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) / 8 - 1,
    "bn.running_var": np.array([0.5, 1.25, 3.0], dtype=np.float32),
    "bn.num_batches_tracked": np.array(7, dtype=np.int64),
    "scalar.f64": np.array([1.0 / 3.0], dtype=np.float64),
}
save_file(tensors, os.path.join(here, "reference.safetensors"), metadata={"depth": "16", "width": "4"})
