import type pg from "pg";
import { getPool } from "./client";

/**
 * The parameters of one hand-written statement put together from parts: each part adds its
 * values and writes the placeholders (`$1`, `$2`, ...) it is handed.
 */
export class StatementParameters {
  readonly values: unknown[] = [];

  /** `value`'s placeholder, cast to `type` when given (`$3::text[]`). */
  add(value: unknown, type?: string): string {
    this.values.push(value);
    return type ? `$${this.values.length}::${type}` : `$${this.values.length}`;
  }

  /**
   * `unnest(...)` over `rows`: one array parameter per column, given as its SQL array type and
   * each row's value (given the row and its index), in order.
   */
  unnest<R>(rows: R[], columns: [type: string, value: (row: R, index: number) => unknown][]): string {
    const arrays = columns.map(([type, value]) => this.add(rows.map(value), type));
    return `unnest(${arrays.join(", ")})`;
  }

  /** Adds `values` in order; returns the number of the first one's placeholder. */
  addAll(values: unknown[]): number {
    const first = this.values.length + 1;
    this.values.push(...values);
    return first;
  }
}

/** Runs a statement whose parameters `p` holds on the pool; its rows as the driver parses them. */
export async function queryWith<T extends pg.QueryResultRow>(text: string, p: StatementParameters): Promise<T[]> {
  return (await getPool().query<T>(text, p.values)).rows;
}
