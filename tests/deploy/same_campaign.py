"""What the deploy tests hold a merge of shards to: the same campaign run
unsharded, probe for probe."""


def assert_merge_is_whole(tc, merged, whole, n_shards, n_probes):
    tc.assertEqual(merged["campaign"]["merged_from"], n_shards)
    tc.assertEqual(merged["summary"]["outcomes"], whole["summary"]["outcomes"])
    tc.assertEqual(
        [(p["index"], p["delay_ms"], p["outcome"]) for p in merged["probes"]],
        [(p["index"], p["delay_ms"], p["outcome"]) for p in whole["probes"]])
    tc.assertEqual(len(whole["probes"]), n_probes)
