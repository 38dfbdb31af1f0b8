/** Scrapes a `/metrics` endpoint and reads it with a Prometheus text-format parser. */
import parsePrometheus from "parse-prometheus-text-format";

/** One parsed metric family. */
export interface Family {
  readonly name: string;
  readonly type: string;
  readonly metrics: readonly {
    readonly value?: string;
    readonly labels?: Record<string, string>;
    readonly count?: string;
    readonly sum?: string;
    readonly buckets?: Record<string, string>;
  }[];
}

/** A scrape: families by name, and the raw text. */
export interface Scrape {
  readonly text: string;
  readonly contentType: string | null;
  readonly families: ReadonlyMap<string, Family>;
  /** The value of the one series of `name` whose labels include `labels` (0 when absent). */
  value(name: string, labels?: Record<string, string>): number;
  /**
   * A histogram series' `_count`. parse-prometheus-text-format merges the series of a
   * histogram with labels into one (it only keeps unlabelled ones apart), so a labelled
   * series' count is read from its `_count` line instead.
   */
  count(name: string, labels?: Record<string, string>): number;
}

/** GETs `url` and parses the answer. */
export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${text}`);
  const families = new Map<string, Family>(
    (parsePrometheus(text) as Family[]).map((f) => [f.name, f]),
  );
  const find = (name: string, labels: Record<string, string> = {}) =>
    families.get(name)?.metrics.find((m) =>
      Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)
    );
  return {
    text,
    contentType: res.headers.get("content-type"),
    families,
    value: (name, labels) => Number(find(name, labels)?.value ?? 0),
    count(name, labels = {}) {
      if (Object.keys(labels).length === 0) return Number(find(name)?.count ?? 0);
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",");
      const line = text.split("\n").find((l) => l.startsWith(`${name}_count{${wanted}} `));
      return Number(line?.split(" ")[1] ?? 0);
    },
  };
}
