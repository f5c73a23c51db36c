"""A small 3D point (or vector) stored as a numpy array.

Used to talk about one landmark at a time (`ske.joint(i)` gives a Vec3);
whole skeletons are handled as numpy arrays for speed.
"""
import numpy as np


class Vec3:
    __slots__ = ("v",)

    def __init__(self, x=0.0, y=0.0, z=0.0):
        self.v = np.array([x, y, z], dtype=np.float32)

    @classmethod
    def from_array(cls, a):
        a = np.asarray(a, dtype=np.float32).reshape(-1)
        return cls(a[0], a[1], a[2] if a.size > 2 else 0.0)

    x = property(lambda self: float(self.v[0]))
    y = property(lambda self: float(self.v[1]))
    z = property(lambda self: float(self.v[2]))

    def __array__(self, dtype=None, copy=None):
        return self.v.astype(dtype) if dtype is not None else self.v.copy()

    def __add__(self, other):
        return Vec3.from_array(self.v + np.asarray(other, dtype=np.float32))

    def __sub__(self, other):
        return Vec3.from_array(self.v - np.asarray(other, dtype=np.float32))

    def __mul__(self, k):
        return Vec3.from_array(self.v * float(k))

    __rmul__ = __mul__

    def __truediv__(self, k):
        return Vec3.from_array(self.v / float(k))

    def __eq__(self, other):
        return isinstance(other, Vec3) and bool(np.array_equal(self.v, other.v))

    def dot(self, other):
        return float(np.dot(self.v, np.asarray(other, dtype=np.float32)))

    def cross(self, other):
        return Vec3.from_array(np.cross(self.v, np.asarray(other, dtype=np.float32)))

    def norm(self):
        return float(np.linalg.norm(self.v))

    def distance(self, other):
        return (self - other).norm()

    def __repr__(self):
        return f"Vec3({self.x:.4f}, {self.y:.4f}, {self.z:.4f})"
