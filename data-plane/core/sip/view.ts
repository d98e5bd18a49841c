import type { CSeq, NameAddr, Via } from "../../../lib/sip/types.js";

/** Read access to one SIP message; header lookups parse lazily and cache. */
export interface SipMessageView {
  readonly isRequest: boolean;
  /** Request method, or the CSeq method of a reply. */
  readonly method: string;
  /** Reply status code (0 for requests). */
  readonly status: number;
  readonly reason: string;
  /** The Request-URI as received (requests only; "" for replies). [$ou] */
  readonly requestUri: string;
  readonly callId: string;
  readonly cseq: CSeq;
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly fromTag: string | null;
  readonly toTag: string | null;
  /** All Via values, top first. */
  readonly vias: readonly Via[];
  readonly topVia: Via;
  /** Max-Forwards value, or null when absent. */
  readonly maxForwards: number | null;
  /** Contact values (parsed), or "*" for a wildcard REGISTER. Empty when absent. */
  contacts(): readonly NameAddr[] | "*";
  /** Message body (latin1 string, byte-exact). */
  readonly body: string;
  readonly contentType: string | null;
  /** Size on the wire in bytes. */
  readonly size: number;
  /** First value of a header (name case-insensitive, compact forms accepted), folded lines joined. */
  header(name: string): string | null;
  /** Every field of a header, in order (one entry per header line). */
  headerAll(name: string): string[];
  /** Every comma-separated value of a header across all its lines (quotes and <> respected). */
  headerValues(name: string): string[];
  hasHeader(name: string): boolean;
  /** The whole message as received (latin1). */
  readonly raw: string;
}
