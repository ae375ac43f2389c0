#!/usr/bin/env python3
"""Writes ingest/tests/data/opencv-stereo/opencv.json: what OpenCV finds on the stereo photos there
(its chessboard corners, each camera's calibrateCamera and the pair's stereoCalibrate with those
intrinsics fixed), the reference for ingest/tests/calibrate_photos.rs. Not run by CI; needs
OpenCV's Python module (Debian: python3-opencv), run with the system python:

    /usr/bin/python3 scripts/opencv-stereo-reference.py
"""
import glob
import json
import os

import cv2
import numpy as np

DATA = os.path.join(os.path.dirname(__file__), "..", "ingest", "tests", "data", "opencv-stereo")
PATTERN = (9, 6)
SQUARE = 0.025
SIZE = (640, 480)

board = np.zeros((PATTERN[0] * PATTERN[1], 3), np.float32)
board[:, :2] = np.mgrid[0 : PATTERN[0], 0 : PATTERN[1]].T.reshape(-1, 2) * SQUARE


def corners(camera):
    found = {}
    for path in sorted(glob.glob(os.path.join(DATA, camera, "*.jpg"))):
        grey = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        ok, c = cv2.findChessboardCorners(grey, PATTERN)
        if ok:
            criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-4)
            found[os.path.basename(path)[-6:-4]] = cv2.cornerSubPix(grey, c, (11, 11), (-1, -1), criteria)
    return found


left, right = corners("left"), corners("right")
views = sorted(set(left) & set(right))
out = {"opencv": cv2.__version__, "views": views, "cameras": {}}
intrinsics = {}
for name, found in (("left", left), ("right", right)):
    rms, k, d, _, _ = cv2.calibrateCamera([board] * len(views), [found[v] for v in views], SIZE, None, None)
    intrinsics[name] = (k, d)
    out["cameras"][name] = {
        "rms_px": rms,
        "fx": k[0, 0], "fy": k[1, 1], "cx": k[0, 2], "cy": k[1, 2],
        "dist": d.ravel().tolist(),
        "corners": [found[v].reshape(-1, 2).tolist() for v in views],
    }
rms, _, _, _, _, r, t, _, _ = cv2.stereoCalibrate(
    [board] * len(views), [left[v] for v in views], [right[v] for v in views],
    *intrinsics["left"], *intrinsics["right"], SIZE, flags=cv2.CALIB_FIX_INTRINSIC)
out["stereo"] = {"rms_px": rms, "rotation": r.tolist(), "translation_m": t.ravel().tolist()}
with open(os.path.join(DATA, "opencv.json"), "w") as f:
    json.dump(out, f, indent=1)
print(f"{len(views)} views; baseline {np.linalg.norm(t) * 1000:.2f} mm; written {f.name}")
