#!/usr/bin/env python3
"""Write small Megatron indexed datasets with numpy, following Megatron-LM's
megatron/core/datasets/indexed_dataset.py (_IndexWriter.write + IndexedDatasetBuilder) step by step,
so our TypeScript reader/writer is checked against an independent implementation.

Run from packages/tokenizer: python3 scripts/make-megatron-fixture.py
"""
import struct

import numpy

_INDEX_HEADER = b"MMIDIDX\x00\x00"
CODES = {numpy.uint16: 8, numpy.int32: 4}

# Documents as the builder sees them: a list of sequences per document. Document 1 has two
# sequences (Megatron allows that; our writer always writes one), document 3 is empty.
DOCS = [
    [[1, 15043, 3186, 2]],
    [[1, 29871, 243, 162], [155, 131, 2]],
    [[1, 65535, 0, 32000, 2]],
    [[]],
    [[7]],
]


def build(prefix: str, dtype) -> None:
    sequence_lengths = []
    document_indices = [0]
    with open(prefix + ".bin", "wb") as data_file:
        for doc in DOCS:
            for seq in doc:  # IndexedDatasetBuilder.add_document -> add_item per sequence
                arr = numpy.array(seq, dtype=dtype)
                data_file.write(arr.tobytes(order="C"))
                sequence_lengths.append(arr.size)
            document_indices.append(len(sequence_lengths))
    itemsize = numpy.int64(numpy.dtype(dtype).itemsize)
    curr_ptr = numpy.int64(0)
    sequence_pointers = []
    for length in sequence_lengths:
        sequence_pointers.append(curr_ptr.item())
        curr_ptr += length * itemsize
    with open(prefix + ".idx", "wb") as idx:
        idx.write(_INDEX_HEADER)
        idx.write(struct.pack("<Q", 1))
        idx.write(struct.pack("<B", CODES[dtype]))
        idx.write(struct.pack("<Q", len(sequence_lengths)))
        idx.write(struct.pack("<Q", len(document_indices)))
        idx.write(numpy.array(sequence_lengths, dtype=numpy.int32).tobytes(order="C"))
        idx.write(numpy.array(sequence_pointers, dtype=numpy.int64).tobytes(order="C"))
        idx.write(numpy.array(document_indices, dtype=numpy.int64).tobytes(order="C"))


build("test/fixtures/megatron-uint16", numpy.uint16)
build("test/fixtures/megatron-int32", numpy.int32)
# One sequence per document, as our writer produces, for a byte-for-byte comparison.
DOCS = [[s for d in DOCS for s in d]]
DOCS = [[s] for s in DOCS[0]]
build("test/fixtures/megatron-onedoc-uint16", numpy.uint16)
