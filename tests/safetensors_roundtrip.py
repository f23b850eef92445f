# Reads a safetensors file written by xgrad with numpy alone (no xgrad code),
# checks its layout, and writes every tensor back doubled to a second file
# that the C++ test then reads. Usage: safetensors_roundtrip.py IN OUT
import json, struct, sys
import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
src, dst = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
out_header, blobs, offset = {}, [], 0
for name, entry in sorted(header.items()):
    if name == "__metadata__":
        continue
    begin, end = entry["data_offsets"]
    arr = np.frombuffer(data[begin:end], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
    doubled = (arr * 2).astype(arr.dtype)
    b = doubled.tobytes()
    out_header[name] = {"dtype": entry["dtype"], "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
    blobs.append(b)
    offset += len(b)
h = json.dumps(out_header).encode()
open(dst, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print("ok", len(out_header))
