/**
 * A small Prometheus registry: labelled counters, gauges and histograms rendered in the text exposition format
 * 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/). Hand-written rather than prom-client because
 * the gateway needs three metric types and no default collectors, and recording stays one Map lookup per request.
 *
 * Format invariants enforced here: one HELP and one TYPE line per family, label values escaped (`\`, `"`, newline),
 * histogram buckets cumulative and ending in `le="+Inf"` equal to `_count`, series in insertion order.
 */

/** Content-Type of the text exposition format, as Prometheus expects it. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Metric and label names Prometheus accepts (label names may not contain a colon). */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escapes HELP text: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the format writes it (+Inf, -Inf, NaN spelled out). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Label values keyed by label name. */
export type LabelValues<L extends string> = Readonly<Record<L, string | number>>;

/** One labelled series: its rendered `{a="x",b="y"}` and its state. */
interface Series<S> {
  labels: string;
  state: S;
}

/** A metric family: name, help, label names, and its series by label values. */
abstract class Family<L extends string, S> {
  private readonly series = new Map<string, Series<S>>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new Error(`invalid label name ${l} on ${name}`);
    }
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  /** Drops every series (for gauges refilled from a fresh snapshot at scrape time). */
  reset(): void {
    this.series.clear();
  }

  /** The series for `labels`, created with `init()` on first use. */
  protected get(labels: LabelValues<L>): S {
    let key = '';
    for (const l of this.labelNames) key += `${labels[l]}\u0000`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = {
        labels: this.labelNames.map((l) => `${l}="${escapeLabelValue(String(labels[l]))}"`).join(','),
        state: this.init(),
      };
      this.series.set(key, s);
    }
    return s.state;
  }

  protected abstract init(): S;

  /** Sample lines of one series. */
  protected abstract sampleLines(labels: string, state: S): string[];

  /** The family in the text format, or nothing when it has no series yet. */
  render(): string[] {
    if (this.series.size === 0) return [];
    const out = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const s of this.series.values()) out.push(...this.sampleLines(s.labels, s.state));
    return out;
  }
}

/** `{labels}` or nothing when there are none. */
function braces(labels: string): string {
  return labels === '' ? '' : `{${labels}}`;
}

/** A monotonically increasing count (requests, bytes). */
export class Counter<L extends string = never> extends Family<L, { value: number }> {
  readonly type = 'counter';

  /** Adds `by` (>= 0) to the series of `labels`. */
  inc(labels: LabelValues<L>, by = 1): void {
    if (!(by >= 0)) throw new Error(`counter ${this.name} cannot decrease (inc by ${by})`);
    this.get(labels).value += by;
  }

  protected init(): { value: number } {
    return { value: 0 };
  }

  protected sampleLines(labels: string, state: { value: number }): string[] {
    return [`${this.name}${braces(labels)} ${formatValue(state.value)}`];
  }
}

/** A value that goes up and down (drive state, quorum). */
export class Gauge<L extends string = never> extends Family<L, { value: number }> {
  readonly type = 'gauge';

  /** Sets the series of `labels` to `value`. */
  set(labels: LabelValues<L>, value: number): void {
    this.get(labels).value = value;
  }

  protected init(): { value: number } {
    return { value: 0 };
  }

  protected sampleLines(labels: string, state: { value: number }): string[] {
    return [`${this.name}${braces(labels)} ${formatValue(state.value)}`];
  }
}

interface HistogramState {
  /** Per-bucket (not cumulative) counts; the last slot counts observations above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations sorted into fixed buckets (latencies). */
export class Histogram<L extends string = never> extends Family<L, HistogramState> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]) {
    super(name, help, labelNames);
    if (labelNames.includes('le' as L)) throw new Error(`histogram ${name} may not use the label le`);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) {
      throw new Error(`histogram ${name} needs distinct finite bucket bounds`);
    }
    this.bounds = sorted;
  }

  /** Counts `value` into the first bucket whose bound is >= value (Prometheus buckets are `le`). */
  observe(labels: LabelValues<L>, value: number): void {
    const s = this.get(labels);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  protected init(): HistogramState {
    return { counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }

  protected sampleLines(labels: string, state: HistogramState): string[] {
    const prefix = labels === '' ? '' : `${labels},`;
    const out: string[] = [];
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += state.counts[i];
      out.push(`${this.name}_bucket{${prefix}le="${formatValue(bound)}"} ${cumulative}`);
    });
    out.push(`${this.name}_bucket{${prefix}le="+Inf"} ${state.count}`);
    out.push(`${this.name}_sum${braces(labels)} ${formatValue(state.sum)}`);
    out.push(`${this.name}_count${braces(labels)} ${state.count}`);
    return out;
  }
}

/** Owns the metric families and renders them all; names must be unique. */
export class Registry {
  private readonly families = new Map<string, { render(): string[] }>();

  /** Registers a counter family. */
  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.add(new Counter<L>(name, help, labelNames));
  }

  /** Registers a gauge family. */
  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.add(new Gauge<L>(name, help, labelNames));
  }

  /** Registers a histogram family with the given bucket upper bounds (+Inf is implied). */
  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
  ): Histogram<L> {
    return this.add(new Histogram<L>(name, help, labelNames, buckets));
  }

  /** Every family with at least one series, in registration order, newline-terminated. */
  render(): string {
    const lines: string[] = [];
    for (const f of this.families.values()) lines.push(...f.render());
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  private add<F extends { name: string; render(): string[] }>(family: F): F {
    if (this.families.has(family.name)) throw new Error(`metric ${family.name} registered twice`);
    this.families.set(family.name, family);
    return family;
  }
}
