"""Near-duplicate detection: MinHash over word shingles, with LSH bands kept in the store.

Two outlets running the same agency copy differ in furniture and a few edits; their
cleaned texts share most 5-word shingles. Band keys let a new article find candidate
copies among millions with one indexed lookup; the MinHash estimate then decides.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS = 32  # 32 bands x 4 rows: pairs above ~0.5 Jaccard share a band with high probability
_SEED = 20220126


def minhash_of(text: str) -> np.ndarray:
    """The MinHash signature (uint32) of the text's lower-cased 5-word shingles."""
    from datasketch import MinHash  # its package imports SciPy, 0.8 s: paid by the first ingest, not by every server start

    words = re.findall(r"\w+", text.lower())
    shingles = {" ".join(words[i:i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    signature = MinHash(num_perm=NUM_PERM, seed=_SEED)
    signature.update_batch([s.encode("utf-8") for s in shingles])
    return signature.hashvalues.astype(np.uint32)


def band_keys(signature: np.ndarray) -> list[tuple[int, int]]:
    """One ``(band, key)`` pair per LSH band; equal keys mean equal rows in that band."""
    rows = len(signature) // BANDS
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(signature[band * rows:(band + 1) * rows].tobytes(), digest_size=8).digest()
        keys.append((band, int.from_bytes(digest, "big", signed=True)))
    return keys


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(np.asarray(a) == np.asarray(b)))
