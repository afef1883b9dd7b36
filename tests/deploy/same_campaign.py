"""What the deploy tests share: a raceserver on 127.0.0.1 for the length of
a block, and what a merge of shards is held to: the same campaign run
unsharded, probe for probe."""
import contextlib
import subprocess


@contextlib.contextmanager
def raceserver(binary, *args):
    """Starts `binary` (raceserver) on a free port of 127.0.0.1 and yields
    its ws:// URL; stops it, by its process, when the block ends."""
    srv = subprocess.Popen([binary, "--port", "0", "--lifetime", "60",
                            "--quiet"] + list(args),
                           stdout=subprocess.PIPE, text=True)
    try:
        yield "ws://" + srv.stdout.readline().split()[-1] + "/"
    finally:
        srv.terminate()
        srv.wait(timeout=5)
        srv.stdout.close()


def assert_merge_is_whole(tc, merged, whole, n_shards, n_probes):
    tc.assertEqual(merged["campaign"]["merged_from"], n_shards)
    tc.assertEqual(merged["summary"]["outcomes"], whole["summary"]["outcomes"])
    tc.assertEqual(
        [(p["index"], p["delay_ms"], p["outcome"]) for p in merged["probes"]],
        [(p["index"], p["delay_ms"], p["outcome"]) for p in whole["probes"]])
    tc.assertEqual(len(whole["probes"]), n_probes)
