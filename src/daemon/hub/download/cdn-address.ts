/**
 * Where a file's ranged requests go after the first: the CDN address the Hub redirected an answered request to. Later
 * requests go there directly, saving each a round trip to the Hub and its time to resolve the file, as
 * huggingface_hub and hf_transfer do. Measured with the fake Hub answering 100 ms late (a distant Hub), 1 GiB,
 * alternating: 2.27 s against 2.76 s (median of 6) on loopback, 3.99 s against 4.56 s (512 MiB, median of 4) over
 * four connections each capped at 60 MiB/s.
 *
 * The address is forgotten when a request to it fails: signed addresses expire (403), CDN nodes fail. Once one is
 * refused on its first reuse (an address good for one request only), none is kept for the rest of the file, so the
 * refusals a download does not count as failed attempts stay bounded.
 */

/** Statuses by which an address the Hub redirected to earlier says it is no longer good (expired, withdrawn). */
const REFUSALS = new Set([401, 403, 404, 410]);

/** One remembered address, and how many requests it answered. */
export interface CdnTarget {
  readonly url: string;
  uses: number;
}

/** See the module comment. One per file download. */
export class CdnAddress {
  #current: CdnTarget | undefined;
  #reuse = true;

  /** `requestUrl` is the Hub's URL for the file, where every request went before (and goes when none is kept). */
  constructor(private readonly requestUrl: string) {}

  /** The address the next request should go to; undefined: the Hub's URL. */
  target(): CdnTarget | undefined {
    return this.#current;
  }

  /** A request was answered with the file's bytes by `url` (where its redirects ended). */
  answered(url: string): void {
    if (url === this.requestUrl || !this.#reuse) return;
    if (this.#current?.url === url) this.#current.uses++;
    else this.#current = { url, uses: 1 };
  }

  /**
   * A request sent to `target` failed, its answer's status `status` when it had one. True when the address itself
   * refused it: the Hub should be asked at once, and the attempt not counted. Any failure forgets the address.
   */
  failed(target: CdnTarget, status: number | undefined): boolean {
    if (this.#current === target) this.#current = undefined;
    if (status === undefined || !REFUSALS.has(status)) return false;
    if (target.uses <= 1) this.#reuse = false;
    return true;
  }
}
