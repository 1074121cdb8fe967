"""Tink (PyPI tink) side of the body interop test.

usage: tink_interop.py decrypt KEYHEX AADFILE BODYFILE OUTFILE   (Tink decrypts our body)
       tink_interop.py encrypt KEYHEX AADFILE PLAINFILE OUTFILE  (Tink encrypts a body for us)
The key is the raw 32-byte data key of an AesGcmHkdfStreamingKey (AES256_GCM_HKDF_1MB params).
"""
import io
import sys

from tink import proto_keyset_format, secret_key_access, streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2 as pb, common_pb2, tink_pb2

streaming_aead.register()


def primitive(raw):
    key = pb.AesGcmHkdfStreamingKey(
        version=0,
        key_value=raw,
        params=pb.AesGcmHkdfStreamingParams(
            ciphertext_segment_size=1 << 20, derived_key_size=32, hkdf_hash_type=common_pb2.SHA256
        ),
    )
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url="type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
                    value=key.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    handle = proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    return handle.primitive(streaming_aead.StreamingAead)


def main():
    op, keyhex, aadfile, infile, outfile = sys.argv[1:6]
    p = primitive(bytes.fromhex(keyhex))
    aad = open(aadfile, "rb").read()
    if op == "decrypt":
        with open(infile, "rb") as src, p.new_decrypting_stream(src, aad) as d, open(outfile, "wb") as out:
            while True:
                chunk = d.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
    else:
        with open(outfile, "wb") as out:
            class Sink(io.RawIOBase):
                def writable(self):
                    return True

                def write(self, b):
                    out.write(b)
                    return len(b)

            with p.new_encrypting_stream(Sink(), aad) as e:
                e.write(open(infile, "rb").read())


main()
