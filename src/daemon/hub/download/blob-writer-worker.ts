/**
 * The blob writer's worker thread (blob-writer.ts has the whole design): it writes each batch it is handed (one write
 * in flight through the page cache, two past it), hashes in order from memory what it can (a slice per turn of its
 * event loop), reads back (past the page cache where it writes past it) and hashes the rest, and answers each write
 * with `written` (for a batch hashed from memory, once it is hashed too; `released` for a kept batch it has since
 * hashed), then `done` with the digests.
 */

// Plain JavaScript run with `eval`, so it works the same from TypeScript sources (tsx) and the built package.
export const BLOB_WRITER_WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const crypto = require("node:crypto");

// One file at a time, and then the next (writer-threads.ts keeps the thread for it): 'open' starts a file, whose
// state lives in its own closure, and the messages after it go to that file.
let current = null;
parentPort.on("message", (m) => {
  if (m.type === "open") current = openFile(m.data);
  else if (current) current(m);
});

function openFile(workerData) {
  const { fd, size, gitSha1, readBlock, window, written, align } = workerData;
  // Set once the file sent 'done' or 'error': nothing of it runs or answers after that, so the next file's owner
  // hears only its own file.
  let ended = false;
  function post(message) {
    if (!ended) parentPort.postMessage(message);
  }
  // The same file opened with O_DIRECT, or -1; dropped for good the first time the kernel refuses a write with EINVAL.
  let directFd = workerData.directFd;
  const sha256 = crypto.createHash("sha256");
  const sha1 = gitSha1 ? crypto.createHash("sha1").update("blob " + size + "\\0") : null;
  const readBuffer = Buffer.allocUnsafeSlow(readBlock);
  // Read-back past the page cache (see blob-writer.ts): the owner's two page-aligned buffers, one being read from the
  // device while the other is hashed. Null without O_DIRECT, or once the kernel refused such a read.
  let directReads =
    directFd >= 0 && workerData.directReadBuffers ? workerData.directReadBuffers.map((b) => Buffer.from(b)) : null;
  let directTurn = 0;
  // A read-back in flight on the thread pool (past the page cache): the worker goes on with writes and hashing
  // meanwhile.
  let reading = false;
  let readBackDirect = 0;
  // Written but not yet hashed, to be read back: sorted, disjoint [start, end) pairs, all beyond 'hashed'.
  const pending = [];
  // Kept batches by position, each { id, bytes, writing, hashed }: returned to the sender once written and hashed.
  const held = new Map();
  // Every range handed over to be written (and, after a resume, the ones already in the file), merged.
  const submitted = [];
  // Batches that arrived in order, in the order of the file, each { id, start, bytes (from 'start' on), hashed, reply
  // (set once written) }: hashed from memory a slice per turn of the event loop (so the writes' completions are
  // answered and the next writes started between slices, rather than after a whole batch's hash), answered once written
  // and hashed.
  // In order means right after what had arrived before it, hashed or not: one that follows bytes still to be read
  // back waits for them here (holding its sender, which pauses), rather than being read back itself. Otherwise a
  // connection that once fell behind the hash would have every later batch read back.
  const queued = [];
  let hashed = 0;
  let busyMs = 0;
  let hashedInMemory = 0;
  let readBack = 0;
  let writtenDirect = 0;
  let stepping = false;
  let finishing = false;
  let writes = 0;

  function update(bytes) {
    sha256.update(bytes);
    if (sha1) sha1.update(bytes);
  }

  // Add [start, end) to a sorted list of disjoint [start, end) pairs ('pending', 'submitted'), merging what touches it.
  function addRange(list, start, end) {
    let i = 0;
    while (i < list.length && list[i][1] < start) i++;
    let j = i;
    while (j < list.length && list[j][0] <= end) {
      start = Math.min(start, list[j][0]);
      end = Math.max(end, list[j][1]);
      j++;
    }
    list.splice(i, j - i, [start, end]);
  }

  function fail(err) {
    post({ type: "error", message: String((err && err.message) || err) });
    ended = true;
  }

  /** The answer to write 'id': done, or failed with 'err' (its errno code kept for the owner's mapping). */
  function writtenReply(id, err) {
    return err ? { type: "written", id, code: err.code, message: String(err.message || err) } : { type: "written", id };
  }

  /** Where the bytes that arrived (hashed, queued, written or being written) run to without a gap from the hash. */
  function frontier() {
    let end = hashed;
    for (const [s, e] of submitted) {
      if (s > end) break;
      if (e > end) end = e;
    }
    return end;
  }

  /** Whether something can be hashed now: from memory, or by a read-back that is not already in flight. */
  function readyToHash() {
    if (queued.length && queued[0].start <= hashed) return true;
    if (held.has(hashed)) return true;
    return !reading && pending.length > 0 && pending[0][0] <= hashed;
  }

  /** The prefix moved to 'hashed': drop or trim what was waiting to be read back below it. */
  function trimPending() {
    while (pending.length && pending[0][1] <= hashed) pending.shift();
    if (pending.length && pending[0][0] < hashed) pending[0][0] = hashed;
  }

  /** Hash up to 'budget' bytes of the queued batches that start where the hash is. */
  function hashQueued(budget) {
    while (queued.length && budget > 0 && queued[0].start <= hashed) {
      const q = queued[0];
      const n = Math.min(budget, q.bytes.length);
      update(q.bytes.subarray(0, n));
      q.bytes = q.bytes.subarray(n);
      q.start += n;
      hashedInMemory += n;
      hashed += n;
      budget -= n;
      if (q.bytes.length > 0) break;
      queued.shift();
      q.hashed = true;
      trimPending();
      if (q.reply) post(q.reply);
    }
  }

  /** Hash what is next from memory: kept batches that start where the hash is. */
  function hashHeld(budget = Infinity) {
    let done = 0;
    for (let h = held.get(hashed); h && done < budget; h = held.get(hashed)) {
      done += h.bytes.length;
      held.delete(hashed);
      update(h.bytes);
      hashedInMemory += h.bytes.length;
      hashed += h.bytes.length;
      h.hashed = true;
      if (!h.writing) post({ type: "released", id: h.id });
    }
  }

  /** Hash read-back bytes that start where the hash has reached, and move the hashed prefix past them. */
  function hashReadBack(bytes, direct) {
    update(bytes);
    hashed += bytes.length;
    readBack += bytes.length;
    if (direct) readBackDirect += bytes.length;
    trimPending();
  }

  /** Where the next read-back slice starts and how long it is, or null while the written prefix ends at the hash. */
  function nextReadBack(from) {
    const first = pending[0];
    if (!first || first[0] > from || first[1] <= from) return null;
    return [from, Math.min(readBlock, first[1] - from)];
  }

  /**
   * Read back past the page cache, on the thread pool: the slice after the hashed prefix, and while it is hashed, the
   * one after it. Does nothing while a read is in flight or nothing is ready (slice null).
   */
  function readBackDirectly(slice) {
    if (reading || !slice) return;
    reading = true;
    const [position, want] = slice;
    const buffer = directReads[(directTurn ^= 1)];
    const start = position - (position % align);
    const skip = position - start;
    fs.read(directFd, buffer, 0, Math.ceil((skip + want) / align) * align, start, (err, got) => {
      reading = false;
      try {
        if (err && err.code === "EINVAL") {
          // The file system opens with O_DIRECT but refuses these reads: through the page cache from here on.
          directReads = null;
          return schedule();
        }
        if (err) throw err;
        const end = position + Math.min(got - skip, want);
        if (end <= position) throw new Error("unexpected end of file at " + position);
        // The prefix moved past part of the slice meanwhile (another path hashed it): only the rest counts.
        if (end > hashed && position <= hashed) {
          const t = performance.now();
          const first = pending[0];
          if (first && end < first[1]) readBackDirectly(nextReadBack(end));
          hashReadBack(buffer.subarray(skip + (hashed - position), skip + (end - position)), true);
          busyMs += performance.now() - t;
        }
        schedule();
      } catch (e) {
        fail(e);
      }
    });
  }

  /** Read back and hash at most one slice of the written prefix (past the page cache: start reading it). */
  function readBackSlice() {
    if (directReads) return readBackDirectly(nextReadBack(hashed));
    const first = pending[0];
    if (!first || first[0] > hashed) return;
    const want = Math.min(readBlock, first[1] - hashed);
    const n = fs.readSync(fd, readBuffer, 0, want, hashed);
    if (n <= 0) throw new Error("unexpected end of file at " + hashed);
    hashReadBack(readBuffer.subarray(0, n), false);
  }

  // One slice per turn of the event loop: writes queued meanwhile are handled first (messages before immediates).
  function step() {
    stepping = false;
    if (ended) return;
    try {
      const t = performance.now();
      // A slice at a time, so write completions and new batches are not kept waiting behind a long run of hashing:
      // from memory what starts where the hash is, else read back what was written there.
      if (queued.length && queued[0].start <= hashed) hashQueued(readBlock);
      else if (held.has(hashed)) hashHeld(readBlock);
      else readBackSlice();
      busyMs += performance.now() - t;
      if (readyToHash()) schedule();
      else if (finishing && writes === 0 && !reading && !queued.length) done();
    } catch (err) {
      fail(err);
    }
  }

  function schedule() {
    if (stepping) return;
    stepping = true;
    setImmediate(step);
  }

  function done() {
    if (hashed !== size) {
      const next = [...held.keys()].sort((a, b) => a - b)[0];
      const gap = pending.length
        ? "; next read-back at " + pending[0][0]
        : next !== undefined ? "; next kept batch at " + next : "";
      return fail(new Error("hashed " + hashed + " of " + size + " bytes at the end" + gap));
    }
    post({
      type: "done", sha256: sha256.digest("hex"), gitSha1: sha1 ? sha1.digest("hex") : undefined,
      stats: { busyMs, hashedInMemory, readBack, readBackDirect, writtenDirect },
    });
    ended = true;
  }

  // One write in flight through the page cache: writes to one file serialise on its inode lock in the kernel anyway,
  // and waiters spin on it, burning the CPU the hash and the receiving thread need (measured with perf:
  // rwsem_spin_on_owner). Two past it (O_DIRECT): the writer sleeps on the device there, so the second waits without
  // spinning and starts the moment the first ends, even while this thread is hashing (measured on a 1 GiB pull:
  // 1.28-1.52 s against 1.46-1.67 s with one, the same CPU; three were no faster than two).
  const writeQueue = [];
  let inFlight = 0;
  function writeAll(bytes, position, aligned, callback) {
    writeQueue.push([bytes, position, aligned, callback]);
    nextWrite();
  }
  function nextWrite() {
    if (inFlight >= (directFd >= 0 ? 2 : 1)) return;
    const item = writeQueue.shift();
    if (!item) return;
    inFlight++;
    const [bytes, position, aligned, callback] = item;
    const finished = (err) => { inFlight--; callback(err); nextWrite(); };
    const attempt = (b, p) => {
      // The aligned part past the page cache when the memory, the offset and the position allow it; a tail shorter
      // than a page (the file's last bytes) through it.
      const direct = directFd >= 0 && aligned && b.byteOffset % align === 0 && p % align === 0 && b.length >= align;
      const length = direct ? b.length - (b.length % align) : b.length;
      fs.write(direct ? directFd : fd, b, 0, length, p, (err, n) => {
        if (err && direct && err.code === "EINVAL") {
          // The file system takes O_DIRECT opens but not these writes: the page cache from here on.
          directFd = -1;
          return attempt(b, p);
        }
        if (err) return finished(err);
        if (direct) writtenDirect += n;
        if (n < b.length) return attempt(b.subarray(n), p + n);
        finished();
      });
    };
    attempt(bytes, position);
  }

  // Shared slabs by id, each { buffer, aligned }: sent once (passing a SharedArrayBuffer in a message costs ~0.15 ms),
  // then named. 'aligned': the slab starts on a page boundary.
  const slabs = new Map();

  // The write runs on the thread pool while this thread hashes: in-order bytes a slice at a time from now on, kept
  // ones when reached.
  function write(m) {
    if (m.slab !== undefined && m.buffer) slabs.set(m.slab, { buffer: m.buffer, aligned: m.aligned });
    const slab = m.slab !== undefined ? slabs.get(m.slab) : { buffer: m.buffer, aligned: false };
    const bytes = new Uint8Array(slab.buffer, m.offset, m.length);
    const end = m.position + m.length;
    const front = frontier();
    const inOrder = m.position <= front && end > front;
    let kept;
    // Reading back past the page cache costs the worker less than keeping batches costs the receiving thread (fresh
    // memory is faulted in page by page): batches are kept only while it is off.
    if (!inOrder && !directReads && m.shared && m.position > front && end <= hashed + window && !held.has(m.position)) {
      kept = { id: m.id, bytes, writing: true, hashed: false };
      held.set(m.position, kept);
    }
    addRange(submitted, m.position, end);
    const q = inOrder
      ? { id: m.id, start: front, bytes: bytes.subarray(front - m.position), hashed: false, reply: null }
      : null;
    if (q) queued.push(q);
    // The write goes to the thread pool first, so the disk and this thread's hashing overlap.
    writes++;
    writeAll(bytes, m.position, slab.aligned, (err) => {
      writes--;
      if (q) {
        // Answered once hashed too: until then the batch is still being read.
        q.reply = writtenReply(m.id, err);
        if (q.hashed) post(q.reply);
      } else if (err) {
        if (kept && held.get(m.position) === kept) held.delete(m.position);
        post(writtenReply(m.id, err));
      } else {
        if (kept) kept.writing = false;
        // Not hashed yet (the prefix may have reached its start meanwhile, never passed it): read it back.
        else if (end > hashed) addRange(pending, Math.max(m.position, hashed), end);
        post({ type: "written", id: m.id, kept: !!kept && !kept.hashed });
      }
      if (readyToHash() || (finishing && writes === 0)) schedule();
    });
    if (readyToHash()) schedule();
  }

  for (const [s, e] of written) {
    addRange(pending, s, e);
    addRange(submitted, s, e);
  }
  schedule();
  return (m) => {
    if (ended) return;
    if (m.type === "write") return write(m);
    if (m.type === "finish") {
      finishing = true;
      schedule();
    }
  };
}
`;
