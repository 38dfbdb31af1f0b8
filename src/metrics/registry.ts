/**
 * A small Prometheus registry: counters, gauges and histograms with fixed label names, read as
 * a plain-data snapshot (`snapshot.ts`, which also writes the text format, version 0.0.4, and
 * adds up the snapshots of several workers).
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

import {
  CONTENT_TYPE,
  type MetricKind,
  type RegistrySnapshot,
  renderSnapshot,
} from "./snapshot.ts";

export { CONTENT_TYPE };

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

/** A metric family: its name, help, type, label names and series by label values. */
abstract class Family<S> {
  readonly #series = new Map<string, { readonly labels: readonly string[]; readonly sample: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: MetricKind,
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

  /** Each series' labels and sample, in the order they were made. */
  protected entries(): Iterable<{ readonly labels: readonly string[]; readonly sample: S }> {
    return this.#series.values();
  }

  /** The family as plain data, copied. */
  abstract snapshot(): RegistrySnapshot[number];
}

/** A counter or a gauge. */
export class Scalar extends Family<Sample> {
  protected create(): Sample {
    return { value: 0 };
  }

  snapshot(): RegistrySnapshot[number] {
    const { name, help, kind, labelNames } = this;
    const series = [...this.entries()].map(({ labels, sample }) => ({
      labels,
      value: sample.value,
    }));
    return { name, help, kind, labelNames, series };
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

  snapshot(): RegistrySnapshot[number] {
    const { name, help, kind, labelNames, bounds } = this;
    const series = [...this.entries()].map(({ labels, sample }) => ({
      labels,
      counts: [...sample.counts],
      sum: sample.sum,
      count: sample.count,
    }));
    return { name, help, kind, labelNames, bounds, series };
  }
}

/** What the registry needs of a family. */
interface Snapshots {
  readonly name: string;
  snapshot(): RegistrySnapshot[number];
}

/** Families in the order they were made; values read at snapshot time by collectors. */
export class Registry {
  readonly #families: Snapshots[] = [];
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

  /** Runs before each snapshot, to set values that are read rather than counted (memory). */
  onCollect(collect: () => void): void {
    this.#collectors.push(collect);
  }

  /** Every family as plain data, after the collectors ran. */
  snapshot(): RegistrySnapshot {
    for (const collect of this.#collectors) collect();
    return this.#families.map((family) => family.snapshot());
  }

  /** Every family in the text format (0.0.4), ending with a newline. */
  render(): string {
    return renderSnapshot(this.snapshot());
  }

  #add<F extends Snapshots>(family: F): F {
    if (this.#families.some((f) => f.name === family.name)) {
      throw new TypeError(`${family.name} is registered already`);
    }
    this.#families.push(family);
    return family;
  }
}
