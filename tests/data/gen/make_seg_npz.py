#!/usr/bin/env python3
"""Makes tests/data/seg-npz.tar.xz: small .npz files written by numpy
itself, for the .npz reader's tests (test-npz.c).

    ../shared/tools/refpy tests/data/gen/make_seg_npz.py /tmp/seg-npz
    tar -C /tmp -cJf tests/data/seg-npz.tar.xz seg-npz

Every array's values are a simple function of its index (arange), so the
test computes what to expect."""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
arrays = dict(
    f32=np.arange(12, dtype="<f4").reshape(3, 4) * 0.5,
    f64=np.arange(6, dtype="<f8").reshape(2, 3) - 2.5,
    i32=np.arange(5, dtype="<i4") - 2,
    i64=np.arange(4, dtype="<i8") * 1000000000000,
    u8=np.arange(8, dtype="u1").reshape(2, 2, 2),
    scalar=np.array(7.0, dtype="<f4"),
    empty=np.zeros((0, 3), dtype="<f4"),
)
np.savez(os.path.join(out, "stored.npz"), **arrays)
np.savez_compressed(os.path.join(out, "compressed.npz"), **arrays)
# Layouts the reader must refuse with a clear message.
np.savez(os.path.join(out, "fortran.npz"),
         a=np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
np.savez(os.path.join(out, "bigendian.npz"), a=np.arange(3, dtype=">f4"))
np.savez(os.path.join(out, "complex.npz"), a=np.arange(3, dtype="<c8"))
np.savez(os.path.join(out, "structured.npz"),
         a=np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]))
with open(os.path.join(out, "README.md"), "w") as f:
    f.write("Small .npz files written by numpy %s (np.savez and "
            "np.savez_compressed) for test-npz.c; made by "
            "tests/data/gen/make_seg_npz.py.\n" % np.__version__)
print("numpy", np.__version__)
