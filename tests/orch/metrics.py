#!/usr/bin/env python3
"""tests/orch/metrics.py FILE [NAME{LABELS}...]: parses FILE (the mount's `metrics`) with
prometheus_client's text-format parser, checks every histogram (buckets cumulative, +Inf equal
to _count), and prints the value of each sample asked for, one a line ("-" when absent). Exits
1 when the text does not parse or a histogram is inconsistent."""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = open(sys.argv[1]).read()
    samples = {}
    for fam in text_string_to_metric_families(text):
        buckets, count = [], None
        for s in fam.samples:
            labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
            samples["%s{%s}" % (s.name, labels) if labels else s.name] = s.value
            if fam.type == "histogram" and s.name.endswith("_bucket"):
                buckets.append(s.value)
            if fam.type == "histogram" and s.name.endswith("_count"):
                count = s.value
        if fam.type == "histogram":
            if buckets != sorted(buckets) or not buckets or buckets[-1] != count:
                print("histogram %s is inconsistent: %s, count %s" % (fam.name, buckets, count))
                return 1
    for want in sys.argv[2:]:
        print(samples.get(want, "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
