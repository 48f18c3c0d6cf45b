/**
 * The push pipeline's bookkeeping, free of I/O: which paths need their NAR uploaded, which
 * narinfo may be written now, and which paths are blocked by a failed reference.
 *
 * The one rule it enforces: a narinfo is written only once its NAR is uploaded and every
 * reference is available in the cache (already there, pushed in this run, or served upstream),
 * so a reader never finds a path it cannot fetch whole.
 *
 * NAR uploads need no order. The plan hands out first the paths whose references are all
 * available ("ready"), biggest NAR first; when none is ready, it looks ahead and hands out a
 * path still waiting on its references, so a long chain of dependencies does not leave upload
 * lanes idle. Its narinfo then waits until the chain below it is written.
 *
 * A path whose narinfo the cache holds but which needs repair (verify-cache) goes the same way:
 * its NAR uploaded again or not, its narinfo rewritten only once its references are available.
 */

/** `repaired`: the cache had a narinfo for it, which this push replaced (NAR re-pushed, or re-signed). */
export type PathStatus = 'pushed' | 'repaired' | 'skipped' | 'upstream' | 'failed' | 'blocked';

type Phase =
  | 'unchecked' // whether the cache has it is not known yet
  | 'missing' // needs its NAR uploaded
  | 'uploading'
  | 'uploaded' // NAR in place, narinfo waits for references
  | 'writing' // narinfo being written
  | 'available' // in the cache, upstream, or pushed
  | 'failed'; // failed or blocked: never gets a narinfo

export interface PlanPath {
  path: string;
  narSize: number;
  references: readonly string[];
}

export interface PlanNode<T extends PlanPath = PlanPath> {
  readonly path: string;
  /** Undefined for a reference that was not among the paths to push. */
  readonly info: T | undefined;
  readonly refs: PlanNode<T>[];
  readonly dependents: PlanNode<T>[];
  phase: Phase;
  status?: PathStatus;
  error?: string;
  /** References (self excluded) not yet available. */
  waitingOn: number;
  /** Its narinfo was in the cache but is being replaced. */
  repairing?: boolean;
}

class MaxHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i] as T, items[parent] as T)) break;
      [items[i], items[parent]] = [items[parent] as T, items[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.before(items[l] as T, items[best] as T)) best = l;
        if (r < items.length && this.before(items[r] as T, items[best] as T)) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best] as T, items[i] as T];
        i = best;
      }
    }
    return top;
  }
}

export interface PushPlanOptions<T extends PlanPath> {
  /** Paths the cache need not hold because an upstream cache serves them. */
  isUpstream?: (info: T) => boolean;
  /** Called once per node (given or not) when it becomes available, failed or blocked. */
  onSettled?: (node: PlanNode<T>) => void;
}

const biggerFirst = <T extends PlanPath>(a: PlanNode<T>, b: PlanNode<T>): boolean => (a.info?.narSize ?? 0) > (b.info?.narSize ?? 0);

export class PushPlan<T extends PlanPath = PlanPath> {
  private readonly nodes = new Map<string, PlanNode<T>>();
  private readonly ready = new MaxHeap<PlanNode<T>>(biggerFirst);
  private readonly lookahead = new MaxHeap<PlanNode<T>>(biggerFirst);
  private readonly writable: PlanNode<T>[] = [];
  /** Paths whose check, upload or narinfo is under way or still to come. */
  private open = 0;
  /** Nodes in the order their cache checks should run: references before dependents. */
  readonly checkOrder: PlanNode<T>[] = [];

  private readonly onSettled: (node: PlanNode<T>) => void;

  constructor(infos: readonly T[], options: PushPlanOptions<T> = {}) {
    const isUpstream = options.isUpstream ?? (() => false);
    this.onSettled = options.onSettled ?? (() => {});
    for (const info of infos) {
      if (!this.nodes.has(info.path)) this.nodes.set(info.path, this.makeNode(info.path, info));
    }
    for (const node of [...this.nodes.values()]) {
      for (const ref of new Set(node.info?.references ?? [])) {
        if (ref === node.path) continue;
        let target = this.nodes.get(ref);
        if (!target) {
          target = this.makeNode(ref, undefined);
          this.nodes.set(ref, target);
        }
        node.refs.push(target);
        target.dependents.push(node);
      }
      node.waitingOn = node.refs.length;
    }
    this.open = this.nodes.size;
    const sorted = this.topologicalOrder();
    for (const node of this.nodes.values()) {
      if (!sorted.has(node)) this.fail(node, 'failed', 'it is part of a reference cycle, which a Nix store cannot hold');
    }
    for (const node of sorted) {
      if (node.phase !== 'unchecked') continue;
      if (node.info && isUpstream(node.info)) this.makeAvailable(node, 'upstream');
      else this.checkOrder.push(node);
    }
  }

  private makeNode(path: string, info: T | undefined): PlanNode<T> {
    return { path, info, refs: [], dependents: [], phase: 'unchecked', waitingOn: 0 };
  }

  /** Kahn's algorithm; nodes left out sit on a cycle or depend on one. */
  private topologicalOrder(): Set<PlanNode<T>> {
    const pending = new Map<PlanNode<T>, number>();
    const queue: PlanNode<T>[] = [];
    for (const node of this.nodes.values()) {
      pending.set(node, node.refs.length);
      if (node.refs.length === 0) queue.push(node);
    }
    const order = new Set<PlanNode<T>>();
    for (let i = 0; i < queue.length; i++) {
      const node = queue[i] as PlanNode<T>;
      order.add(node);
      for (const dependent of node.dependents) {
        const left = (pending.get(dependent) as number) - 1;
        pending.set(dependent, left);
        if (left === 0) queue.push(dependent);
      }
    }
    return order;
  }

  get(path: string): PlanNode<T> | undefined {
    return this.nodes.get(path);
  }

  /** The paths given to the plan (references outside it excluded). */
  *given(): Iterable<PlanNode<T>> {
    for (const node of this.nodes.values()) if (node.info) yield node;
  }

  /** True once every path is available or failed. */
  get finished(): boolean {
    return this.open === 0;
  }

  /** The cache answered whether it holds the path's narinfo. */
  checked(node: PlanNode<T>, present: boolean): void {
    if (node.phase !== 'unchecked') return;
    if (present) {
      this.makeAvailable(node, 'skipped');
    } else if (!node.info) {
      this.fail(node, 'failed', 'it is neither in the cache nor among the paths to push');
    } else {
      this.needsUpload(node);
    }
  }

  /**
   * The cache holds the path's narinfo, but it must be replaced: `nar` uploads the NAR again
   * first (it is missing, or the narinfo cannot be trusted), `narinfo` only rewrites the narinfo
   * (the NAR is in place). Either way the narinfo waits for the references.
   */
  repair(node: PlanNode<T>, what: 'nar' | 'narinfo'): void {
    if (node.phase !== 'unchecked' || !node.info) return;
    node.repairing = true;
    if (what === 'nar') {
      this.needsUpload(node);
    } else {
      node.phase = 'uploaded';
      if (node.waitingOn === 0) this.writable.push(node);
    }
  }

  private needsUpload(node: PlanNode<T>): void {
    node.phase = 'missing';
    if (node.waitingOn === 0) this.ready.push(node);
    this.lookahead.push(node);
  }

  /** The next NAR to upload, or undefined when none can start now. */
  nextUpload(): PlanNode<T> | undefined {
    for (const heap of [this.ready, this.lookahead]) {
      for (let node = heap.pop(); node; node = heap.pop()) {
        if (node.phase === 'missing') {
          node.phase = 'uploading';
          return node;
        }
      }
    }
    return undefined;
  }

  uploaded(node: PlanNode<T>): void {
    if (node.phase !== 'uploading') return; // blocked meanwhile
    node.phase = 'uploaded';
    if (node.waitingOn === 0) this.writable.push(node);
  }

  /** The next narinfo whose NAR and references are all in place. */
  nextNarInfo(): PlanNode<T> | undefined {
    for (let node = this.writable.shift(); node; node = this.writable.shift()) {
      if (node.phase === 'uploaded') {
        node.phase = 'writing';
        return node;
      }
    }
    return undefined;
  }

  written(node: PlanNode<T>): void {
    if (node.phase === 'writing') this.makeAvailable(node, node.repairing ? 'repaired' : 'pushed');
  }

  /** The path's check, upload or narinfo failed: it and everything depending on it stop. */
  failed(node: PlanNode<T>, error: string): void {
    this.fail(node, 'failed', error);
  }

  private makeAvailable(node: PlanNode<T>, status: PathStatus): void {
    node.phase = 'available';
    node.status = status;
    this.open--;
    this.onSettled(node);
    for (const dependent of node.dependents) {
      dependent.waitingOn--;
      if (dependent.waitingOn !== 0) continue;
      if (dependent.phase === 'missing') this.ready.push(dependent);
      else if (dependent.phase === 'uploaded') this.writable.push(dependent);
    }
  }

  private fail(root: PlanNode<T>, status: 'failed' | 'blocked', error: string): void {
    if (!this.settle(root, status, error)) return;
    // Everything above a failed path is blocked, however deep: iterate, closures can be long chains.
    const why = status === 'blocked' ? error : `its reference ${root.path} ${root.info ? 'failed' : 'is not in the cache'}`;
    const stack = [...root.dependents];
    for (let node = stack.pop(); node; node = stack.pop()) {
      if (this.settle(node, 'blocked', why)) stack.push(...node.dependents);
    }
  }

  private settle(node: PlanNode<T>, status: 'failed' | 'blocked', error: string): boolean {
    if (node.phase === 'available' || node.phase === 'failed') return false;
    node.phase = 'failed';
    node.status = status;
    node.error = error;
    this.open--;
    this.onSettled(node);
    return true;
  }
}
