# Simulated GPS and IMU for boards without sensors (the virtual board, the demo, bench setups):
# smooth, deterministic values from the clock, returned in a reused list (no per-sample list).
import math


class SimGps:
    """[latitude deg, longitude deg, altitude m]: a slow circle around a launch site."""

    def __init__(self, clock, lat=32.9903, lon=-106.9750, alt=1400.0):
        self.clock = clock
        self.lat = lat
        self.lon = lon
        self.alt = alt
        self.values = [lat, lon, alt]

    def read(self):
        t = self.clock() / 1000.0
        v = self.values
        v[0] = self.lat + 0.001 * math.sin(t / 20.0)
        v[1] = self.lon + 0.001 * math.cos(t / 20.0)
        v[2] = self.alt + 50.0 * math.sin(t / 7.0)
        return v


class SimImu:
    """[ax, ay, az m/s^2, gx, gy, gz deg/s]: gravity plus a gentle wobble."""

    def __init__(self, clock):
        self.clock = clock
        self.values = [0.0] * 6

    def read(self):
        t = self.clock() / 1000.0
        v = self.values
        v[0] = 0.3 * math.sin(t * 2.0)
        v[1] = 0.2 * math.cos(t * 1.5)
        v[2] = 9.81 + 0.05 * math.sin(t * 5.0)
        v[3] = 4.0 * math.sin(t * 0.5)
        v[4] = 3.0 * math.cos(t * 0.7)
        v[5] = 1.0 * math.sin(t * 0.3)
        return v


def make(kind, clock):
    """Reader for a config sensor "kind" ("sim_gps", "sim_imu"), or None if unknown."""
    if kind == "sim_gps":
        return SimGps(clock).read
    if kind == "sim_imu":
        return SimImu(clock).read
    return None
