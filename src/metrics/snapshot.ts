/**
 * A registry's contents as plain data (a {@linkcode RegistrySnapshot}), which crosses a worker
 * boundary by structured clone, adds up across workers ({@linkcode mergeSnapshots}) and is
 * written in the Prometheus text format, version 0.0.4 ({@linkcode renderSnapshot}: HELP and
 * TYPE lines, escaped label values, cumulative `_bucket{le=…}` series with `_sum` and
 * `_count`).
 *
 * @example
 * ```ts
 * import { mergeSnapshots, renderSnapshot, type RegistrySnapshot } from "./snapshot.ts";
 * const one: RegistrySnapshot = [{
 *   name: "demo_total", help: "Demo.", kind: "counter", labelNames: [],
 *   series: [{ labels: [], value: 2 }],
 * }];
 * renderSnapshot(mergeSnapshots([one, one])).includes("demo_total 4"); // true
 * ```
 *
 * @module
 */

/** What a family is. */
export type MetricKind = "counter" | "gauge" | "histogram";

/** One series: a counter's or gauge's `value`, or a histogram's counts, sum and count. */
export interface SeriesSnapshot {
  readonly labels: readonly string[];
  readonly value?: number;
  /** Observations per bucket (not cumulative; the last is +Inf). */
  readonly counts?: readonly number[];
  readonly sum?: number;
  readonly count?: number;
}

/** One family and its series. */
export interface FamilySnapshot {
  readonly name: string;
  readonly help: string;
  readonly kind: MetricKind;
  readonly labelNames: readonly string[];
  /** A histogram's upper bounds (without +Inf). */
  readonly bounds?: readonly number[];
  readonly series: readonly SeriesSnapshot[];
}

/** Every family of a registry, in registration order. */
export type RegistrySnapshot = readonly FamilySnapshot[];

/** The text format's content type. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The sum of several snapshots: families by name (in the order first seen), series by label
 * values; values, bucket counts, sums and counts added. Adding is what every orygate family
 * means across workers: counters and histograms count events, and its gauges (open
 * connections, tunnels) count things each worker holds. Families that only make sense once
 * (the process's, the build's) are kept by one of the snapshots only.
 */
export function mergeSnapshots(snapshots: readonly RegistrySnapshot[]): RegistrySnapshot {
  const families = new Map<string, { family: FamilySnapshot; series: Map<string, Summed> }>();
  for (const snapshot of snapshots) {
    for (const family of snapshot) {
      let into = families.get(family.name);
      if (into === undefined) {
        into = { family, series: new Map() };
        families.set(family.name, into);
      } else if (into.family.kind !== family.kind) {
        throw new TypeError(`${family.name} is a ${into.family.kind} and a ${family.kind}`);
      }
      for (const series of family.series) {
        const key = series.labels.join("\u0000");
        const sum = into.series.get(key);
        into.series.set(key, sum === undefined ? copy(series) : add(sum, series));
      }
    }
  }
  return [...families.values()].map(({ family, series }) => ({
    ...family,
    series: [...series.values()],
  }));
}

/** Only what keeps counting when its source is gone: counters and histograms. */
export function countersOf(snapshot: RegistrySnapshot): RegistrySnapshot {
  return snapshot.filter((family) => family.kind !== "gauge");
}

type Summed = {
  labels: readonly string[];
  value?: number;
  counts?: number[];
  sum?: number;
  count?: number;
};

function copy(series: SeriesSnapshot): Summed {
  return { ...series, counts: series.counts && [...series.counts] };
}

function add(into: Summed, series: SeriesSnapshot): Summed {
  if (series.value !== undefined) into.value = (into.value ?? 0) + series.value;
  if (series.counts !== undefined) {
    into.counts ??= new Array(series.counts.length).fill(0);
    for (let i = 0; i < series.counts.length; i++) into.counts[i] += series.counts[i];
  }
  if (series.sum !== undefined) into.sum = (into.sum ?? 0) + series.sum;
  if (series.count !== undefined) into.count = (into.count ?? 0) + series.count;
  return into;
}

/** Every family in the text format (0.0.4), ending with a newline. */
export function renderSnapshot(snapshot: RegistrySnapshot): string {
  const out: string[] = [];
  for (const family of snapshot) {
    out.push(
      `# HELP ${family.name} ${escapeHelp(family.help)}`,
      `# TYPE ${family.name} ${family.kind}`,
    );
    for (const series of family.series) {
      const labels = labelText(family.labelNames, series.labels);
      if (family.kind === "histogram") histogramLines(family, labels, series, out);
      else out.push(`${family.name}${labels ? `{${labels}}` : ""} ${formatNumber(series.value!)}`);
    }
  }
  return out.join("\n") + "\n";
}

function histogramLines(
  family: FamilySnapshot,
  labels: string,
  series: SeriesSnapshot,
  out: string[],
): void {
  const bounds = family.bounds ?? [];
  const sep = labels ? labels + "," : "";
  let cumulative = 0;
  for (let i = 0; i <= bounds.length; i++) {
    cumulative += series.counts![i];
    const le = i < bounds.length ? formatNumber(bounds[i]) : "+Inf";
    out.push(`${family.name}_bucket{${sep}le="${le}"} ${cumulative}`);
  }
  const braces = labels ? `{${labels}}` : "";
  out.push(`${family.name}_sum${braces} ${formatNumber(series.sum!)}`);
  out.push(`${family.name}_count${braces} ${series.count}`);
}

function labelText(names: readonly string[], values: readonly string[]): string {
  return names.map((n, i) => `${n}="${escapeLabel(values[i])}"`).join(",");
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}
