import { parseSave, restore, run, saveText, type IptablesBackend, type Runner } from '@pilot/common';
import { renderPortalRestore, renderUserspaceRemoval, type PortalRules } from './rules.js';

/**
 * The one place the userspace mode touches the kernel's rules. The proxier
 * only knows this interface, so tests and the benchmark can run it without
 * iptables (listeners reached directly).
 */
export interface PortalRuleSink {
  /** Installs exactly `rules` (one atomic restore), removing the other mode's chains. */
  apply(rules: PortalRules): Promise<void>;
  /** Removes this mode's chains and jumps. */
  cleanup(): Promise<void>;
}

export class IptablesPortalSink implements PortalRuleSink {
  constructor(
    private readonly backend: IptablesBackend,
    private readonly runner: Runner = run,
  ) {}

  private async current() {
    return parseSave(await saveText(this.backend, undefined, this.runner));
  }

  async apply(rules: PortalRules): Promise<void> {
    await restore(this.backend, renderPortalRestore(rules, await this.current()), this.runner);
  }

  async cleanup(): Promise<void> {
    const text = renderUserspaceRemoval(await this.current());
    if (text) await restore(this.backend, text, this.runner);
  }
}

/** No rules at all: clients connect to the listeners directly (benchmarks, unit tests). */
export class NoPortalRules implements PortalRuleSink {
  last: PortalRules | undefined;
  async apply(rules: PortalRules): Promise<void> {
    this.last = rules;
  }
  async cleanup(): Promise<void> {
    this.last = undefined;
  }
}
