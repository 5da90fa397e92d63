/** One invalid environment variable and why it was rejected. */
export interface ConfigIssue {
  variable: string;
  message: string;
}

/** Thrown by loadConfig with every invalid variable at once, so one failed boot shows all the mistakes. */
export class ConfigError extends Error {
  /** The individual problems, in schema order. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(
      ['Invalid tiergate configuration:', ...issues.map((i) => `  ${i.variable}: ${i.message}`)].join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
