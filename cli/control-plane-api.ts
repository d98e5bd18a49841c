import type { RpcParam } from "../data-plane/core/rpc/registry.js";

/**
 * The control-plane management methods olectl calls (JSON-RPC 2.0 over HTTP at --cp-url, named
 * params), written down as RPC descriptors so the control plane can register exactly these names
 * and parameter names, and so olectl's tests can serve a fake with the same contract.
 * Row fields use Kamailio's column names (dispatcher, subscriber, lcr_gw tables).
 *
 * @example
 *   for (const d of CONTROL_PLANE_API) registry.register({ ...d, handler: impl[d.name] });
 */
export interface ControlPlaneMethod {
  readonly name: string;
  readonly doc: string;
  readonly params: readonly RpcParam[];
  readonly returns: string;
}

const opt = (name: string, type: RpcParam["type"], doc: string): RpcParam => ({ name, type, optional: true, doc });
const req = (name: string, type: RpcParam["type"], doc: string): RpcParam => ({ name, type, doc });

export const CONTROL_PLANE_API: readonly ControlPlaneMethod[] = [
  {
    name: "dispatcher.create",
    doc: "Store a dispatcher destination row (goes live with the next push).",
    params: [
      req("setid", "int", "set id"),
      req("destination", "string", "SIP URI"),
      opt("flags", "int", "dispatcher flags"),
      opt("priority", "int", "priority"),
      opt("attrs", "string", "attribute string, e.g. weight=50;duid=gw1"),
      opt("description", "string", "free text"),
    ],
    returns: "the stored row {id, setid, destination, flags, priority, attrs, description}",
  },
  { name: "dispatcher.delete", doc: "Delete a stored dispatcher row.", params: [req("id", "int", "row id")], returns: "{deleted: number}" },
  { name: "dispatcher.list", doc: "List stored dispatcher rows.", params: [opt("setid", "int", "only this set")], returns: "[{id, setid, destination, flags, priority, attrs, description}]" },
  {
    name: "subscriber.create",
    doc: "Add a subscriber; the control plane computes ha1 and ha1b.",
    params: [req("username", "string", "user"), req("domain", "string", "domain / realm"), req("password", "string", "plain password")],
    returns: "{id, username, domain}",
  },
  {
    name: "subscriber.passwd",
    doc: "Change a subscriber's password (recomputes ha1/ha1b).",
    params: [req("username", "string", "user"), req("domain", "string", "domain"), req("password", "string", "new password")],
    returns: "{updated: number}",
  },
  { name: "subscriber.delete", doc: "Remove a subscriber.", params: [req("username", "string", "user"), req("domain", "string", "domain")], returns: "{deleted: number}" },
  {
    name: "subscriber.list",
    doc: "List subscribers (never returns passwords or hashes).",
    params: [opt("username", "string", "only this user"), opt("domain", "string", "only this domain")],
    returns: "[{id, username, domain}]",
  },
  {
    name: "lcr_gw.create",
    doc: "Add an LCR gateway row.",
    params: [
      req("gw_name", "string", "gateway name"),
      req("lcr_id", "int", "LCR instance"),
      opt("ip_addr", "string", "IP address"),
      opt("hostname", "string", "host name"),
      opt("port", "int", "port"),
      opt("params", "string", "URI params"),
      opt("uri_scheme", "string", "sip|sips"),
      opt("transport", "string", "udp|tcp|tls|sctp"),
      opt("strip", "int", "digits to strip"),
      opt("prefix", "string", "prefix to add"),
      opt("tag", "string", "tag"),
      opt("flags", "int", "flags"),
    ],
    returns: "the stored row (lcr_gw columns plus id)",
  },
  { name: "lcr_gw.delete", doc: "Delete an LCR gateway.", params: [req("id", "int", "gateway id")], returns: "{deleted: number}" },
  { name: "lcr_gw.list", doc: "List LCR gateways.", params: [opt("lcr_id", "int", "only this LCR instance")], returns: "[lcr_gw rows]" },
  {
    name: "tables.push",
    doc: "Publish the stored tables as a new version to all data-plane nodes.",
    params: [opt("kinds", "array", "only these table kinds"), opt("message", "string", "change note")],
    returns: "{version, kinds, nodes: [{node, status}]}",
  },
  { name: "nodes.list", doc: "Data-plane nodes with, per table kind, the applied and the last rejected version.", params: [], returns: "[{node, address, connected, tables: [{kind, version, lastError}]}]" },
  {
    name: "tables.diff",
    doc: "What changes between two versions (default: live → stored).",
    params: [opt("from", "string", "base version"), opt("to", "string", "target version")],
    returns: "{from, to, changes: [{kind, table, op: added|removed|changed, row}]}",
  },
];
