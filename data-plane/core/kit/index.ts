/**
 * The module kit: helpers modules share, beside the host contract in core/api.ts. Modules import
 * lib/ and tables/ helpers through this barrel (never another module's files). Pure functions and
 * small classes only; nothing here holds module state.
 */
export { parseUri, uriScheme, formatSipUri, rewriteUri, formatHost, defaultPort, uriTransport, isHostname, MAX_URI_LENGTH } from "../../../lib/sip/uri.js";
export type { SipUri } from "../../../lib/sip/types.js";
export {
  lexUri,
  splitUri,
  uriParam,
  formatUri,
  uriProto,
  unescapeUser,
  splitUriRaw,
  checkSipUri,
  effectiveTransport,
  type UriPieces,
  type UriParts,
  type RawUriParts,
  type DestUri,
} from "../../../lib/sip/uri-split.js";
export { splitHeaderList, nameAddrUri, uriOfNameAddr } from "../../../lib/sip/name-addr.js";
export { isIpv4, isIpv6, looksLikeIpv6, canonicalIp, expandIp, parseIpInto, formatIp, maskBytes, v4ToNumber, type IpFamily } from "../../../lib/net/ip.js";
export * from "../../../tables/kit/row-values.js";
export * from "../../../tables/kit/sliced.js";
export { createTableReloader, runReload } from "./reload-kind.js";
export { LiveInstances } from "./live-instances.js";
export { seededRandom } from "../../../lib/random/seeded.js";
export { ALGORITHMS, algorithmInfo, hashHex, computeHa1, computeResponse, digestEquals, type DigestAlgorithm, type AlgorithmInfo, type DigestInput } from "../../../lib/sip/digest.js";
export { parseCredentials, MAX_CREDENTIALS_LENGTH, type DigestCredentials, type CredentialsParse } from "../../../lib/sip/credentials.js";
export { GatewayProber, ProbedGateways, isUpReply, type GatewayProberOptions, type UpReplies, type Probe, type ProbeOutcome } from "./gateway-prober.js";
export { OverlayCompactor, type OverlayCompactorOptions } from "./overlay-compactor.js";
export { registerLiveTable } from "./live-table.js";
