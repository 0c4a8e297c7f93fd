/** Types of the npm package `parse-prometheus-text-format` (it ships none). */
declare module "parse-prometheus-text-format" {
  /** Metric families of a Prometheus text exposition. */
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
