"""Side-by-side timing of photo_rss and vipsthumbnail, one fresh process per photo.

Usage: python3 photo/benches/compare_vips.py RUNS PHOTO (after building the photo_rss example).
"""
import statistics, subprocess, sys, time, os, tempfile
N, big, out = int(sys.argv[1]), sys.argv[2], tempfile.mkdtemp()
cmds = {
    "postcso photo_rss": ["target/release/examples/photo_rss", big],
    "vipsthumbnail": ["vipsthumbnail", big, "-s", "1600x1600", "-o", out + "/vips.jpg[Q=80,strip]"],
    "vipsthumbnail (VIPS_CONCURRENCY=1)": ["env", "VIPS_CONCURRENCY=1", "vipsthumbnail", big,
                                           "-s", "1600x1600", "-o", out + "/vips1.jpg[Q=80,strip]"],
}
res = {name: ([], []) for name in cmds}
for i in range(N + 2):
    for name, cmd in cmds.items():
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
        dt = (time.perf_counter() - t0) * 1000
        if i >= 2:
            res[name][0].append(dt); res[name][1].append(int(p.stderr.strip().splitlines()[-1]))
for name, (times, rss) in res.items():
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    print(f"{name}: median {statistics.median(times):.1f} ms, p99 {p99:.1f} ms, "
          f"peak RSS {statistics.median(rss) / 1024:.1f} MiB")
