/**
 * A small Prometheus registry: counters, gauges and histograms with fixed label names, and
 * their exposition in the text format, version 0.0.4 (HELP and TYPE lines, escaped label
 * values, cumulative `_bucket{le=…}` series with `_sum` and `_count`).
 *
 * Why not prom-client: importing it makes `deno compile` (Deno 2.9.5, which builds the release
 * binaries) abort with a stack overflow in every version tried (14.2.0, 15.0.0, 15.1.3), a
 * regression of Deno 2.9 (denoland/deno#36746). And its `inc()` cost ~110 ns here, where a
 * series kept as a plain object costs a property write.
 *
 * The hot path: a caller asks once for a series (`counter.series("app", "GET", "200")`) and
 * keeps it; counting is then `series.value++` or `histogram.observe(series, seconds)`.
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * const registry = new Registry();
 * const hits = registry.counter("demo_hits_total", "Hits.", ["route"]);
 * hits.series("app").value++;
 * registry.render().includes('demo_hits_total{route="app"} 1'); // true
 * ```
 *
 * @module
 */

/** One series of a counter or gauge: its value, changed in place. */
export interface Sample {
  value: number;
}

/** One series of a histogram. */
export interface HistogramSample {
  /** Observations per bucket (not cumulative; the last is +Inf). */
  readonly counts: number[];
  sum: number;
  count: number;
}

type Kind = "counter" | "gauge" | "histogram";

/** A metric family: its name, help, type, label names and series by label values. */
abstract class Family<S> {
  readonly #series = new Map<string, { readonly labels: readonly string[]; readonly sample: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: Kind,
    readonly labelNames: readonly string[],
  ) {}

  /** The series for these label values (made at zero the first time). Keep it. */
  series(...values: string[]): S {
    if (values.length !== this.labelNames.length) {
      throw new TypeError(`${this.name} takes ${this.labelNames.length} label values`);
    }
    const key = values.join("\u0000");
    let found = this.#series.get(key);
    if (found === undefined) {
      found = { labels: values, sample: this.create() };
      this.#series.set(key, found);
    }
    return found.sample;
  }

  protected abstract create(): S;
  protected abstract lines(labels: string, sample: S, out: string[]): void;

  /** The family in the text format. */
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.kind}`);
    for (const { labels, sample } of this.#series.values()) {
      this.lines(labelText(this.labelNames, labels), sample, out);
    }
  }
}

/** A counter or a gauge. */
export class Scalar extends Family<Sample> {
  protected create(): Sample {
    return { value: 0 };
  }

  protected lines(labels: string, sample: Sample, out: string[]): void {
    out.push(`${this.name}${labels ? `{${labels}}` : ""} ${formatNumber(sample.value)}`);
  }
}

/** A histogram with fixed upper bounds (seconds, for orygate's). */
export class Histogram extends Family<HistogramSample> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly bounds: readonly number[],
  ) {
    super(name, help, "histogram", labelNames);
  }

  /** Counts one observation into `sample`. */
  observe(sample: HistogramSample, value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    sample.counts[i]++;
    sample.sum += value;
    sample.count++;
  }

  protected create(): HistogramSample {
    return { counts: new Array(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }

  protected lines(labels: string, sample: HistogramSample, out: string[]): void {
    const sep = labels ? labels + "," : "";
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += sample.counts[i];
      const le = i < this.bounds.length ? formatNumber(this.bounds[i]) : "+Inf";
      out.push(`${this.name}_bucket{${sep}le="${le}"} ${cumulative}`);
    }
    const braces = labels ? `{${labels}}` : "";
    out.push(`${this.name}_sum${braces} ${formatNumber(sample.sum)}`);
    out.push(`${this.name}_count${braces} ${sample.count}`);
  }
}

/** What the registry needs of a family. */
interface Renders {
  readonly name: string;
  render(out: string[]): void;
}

/** Families in the order they were made; values read at render time by collectors. */
export class Registry {
  readonly #families: Renders[] = [];
  readonly #collectors: (() => void)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Scalar {
    return this.#add(new Scalar(name, help, "counter", labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Scalar {
    return this.#add(new Scalar(name, help, "gauge", labelNames));
  }

  histogram(
    name: string,
    help: string,
    options: { readonly labelNames?: readonly string[]; readonly buckets: readonly number[] },
  ): Histogram {
    return this.#add(new Histogram(name, help, options.labelNames ?? [], options.buckets));
  }

  /** Runs before each render, to set values that are read rather than counted (memory). */
  onCollect(collect: () => void): void {
    this.#collectors.push(collect);
  }

  /** Every family in the text format (0.0.4), ending with a newline. */
  render(): string {
    for (const collect of this.#collectors) collect();
    const out: string[] = [];
    for (const family of this.#families) family.render(out);
    return out.join("\n") + "\n";
  }

  #add<F extends Renders>(family: F): F {
    if (this.#families.some((f) => f.name === family.name)) {
      throw new TypeError(`${family.name} is registered already`);
    }
    this.#families.push(family);
    return family;
  }
}

/** The format's content type. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

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
