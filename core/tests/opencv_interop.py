"""OpenCV's side of core/tests/opencv_interop.rs, using cv2.FileStorage.

    opencv_interop.py dump FILE   print every top-level node of FILE as read by OpenCV
    opencv_interop.py write DIR   write DIR/intri.yml and DIR/extri.yml, print what was written

Output lines: `SEQ key item...`, `INT key v`, `REAL key v`, `STR key v`,
`MAT key rows cols v...` (row-major), and for each Rodrigues vector `R_<cam>` also
`RODRIGUES <cam> r00 r01 ... r22`, OpenCV's rotation matrix for it. Reals use repr(), which
round-trips doubles exactly.
"""

import sys

import cv2
import numpy as np


def emit_matrix(key, m):
    m = np.asarray(m, dtype=np.float64)
    print("MAT", key, m.shape[0], m.shape[1], *[repr(float(v)) for v in m.flatten()])
    if key.startswith("R_") and m.size == 3:
        rot, _ = cv2.Rodrigues(m.reshape(3, 1))
        print("RODRIGUES", key[2:], *[repr(float(v)) for v in rot.flatten()])


def dump(path):
    fs = cv2.FileStorage(path, cv2.FILE_STORAGE_READ)
    if not fs.isOpened():
        sys.exit(f"OpenCV cannot open {path}")
    for key in fs.root().keys():
        node = fs.getNode(key)
        if node.isSeq():
            print("SEQ", key, *[node.at(i).string() for i in range(node.size())])
        elif node.isInt():
            print("INT", key, int(node.real()))
        elif node.isReal():
            print("REAL", key, repr(node.real()))
        elif node.isString():
            print("STR", key, node.string())
        elif node.isMap():
            emit_matrix(key, node.mat())
        else:
            sys.exit(f"{path}: unexpected node type for {key}")
    fs.release()


def write(directory):
    names = ["00", "01", "cam-2"]
    intri = cv2.FileStorage(f"{directory}/intri.yml", cv2.FILE_STORAGE_WRITE)
    extri = cv2.FileStorage(f"{directory}/extri.yml", cv2.FILE_STORAGE_WRITE)
    for fs in (intri, extri):
        fs.startWriteStruct("names", cv2.FileNode_SEQ)
        for n in names:
            fs.write("", n)
        fs.endWriteStruct()
    print("SEQ", "names", *names)
    for i, n in enumerate(names):
        k = np.array(
            [[1402.7 + i / 3, 0.1 * i, 955.123456789 + i], [0, 1399.9 - i / 7, 541.3], [0, 0, 1]]
        )
        dist = np.array([[-0.21 / 3, 0.051 + i / 1e3, 1.1e-4, -3.3e-4, 7e-3 * i]])
        rvec = np.array([[0.3 + 0.7 * i], [-1.1 / 3], [2.0 - i / 9]])
        rot, _ = cv2.Rodrigues(rvec)
        t = np.array([[0.25 * i - 1 / 3], [1.3e-3], [3.0 + i / 11]])
        intri.write(f"K_{n}", k)
        emit_matrix(f"K_{n}", k)
        if i == 1:
            # EasyMocap's alternative spelling, as a column.
            intri.write(f"D_{n}", dist.T)
            emit_matrix(f"D_{n}", dist.T)
        else:
            intri.write(f"dist_{n}", dist)
            emit_matrix(f"dist_{n}", dist)
        if i != 2:
            intri.write(f"H_{n}", 1080 + i)
            intri.write(f"W_{n}", 1920 - i)
            print("INT", f"H_{n}", 1080 + i)
            print("INT", f"W_{n}", 1920 - i)
        extri.write(f"R_{n}", rvec)
        emit_matrix(f"R_{n}", rvec)
        if i != 1:
            # Camera 01 has only the Rodrigues vector.
            extri.write(f"Rot_{n}", rot)
            emit_matrix(f"Rot_{n}", rot)
        extri.write(f"T_{n}", t)
        emit_matrix(f"T_{n}", t)
    intri.release()
    extri.release()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("dump", "write"):
        sys.exit(__doc__)
    {"dump": dump, "write": write}[sys.argv[1]](sys.argv[2])
