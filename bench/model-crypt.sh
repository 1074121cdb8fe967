#!/usr/bin/env bash
# mlguard model encrypt/decrypt vs age and `openssl enc -aes-256-ctr`, in one run, on the same
# file in memory (/dev/shm: input and outputs stay in RAM, so the disk is out of the picture),
# then mlguard model sign/verify vs OpenSSF model-signing (PyPI model-signing) on the same folder.
#
# Each tool encrypts the file to a new file and decrypts it back; throughput = plaintext bytes /
# wall time. Resident memory (peak RSS) from GNU time. mlguard uses every core (segments are
# independent); age and openssl enc use one. Runs are interleaved (mlguard, age, openssl, then
# again) and the best of ROUNDS is kept per tool, so a noisy neighbour hurts all alike.
#
# Targets (issue 7): mlguard >= 2x age's throughput and >= openssl enc's; >= 1.5 GB/s per core;
# peak RSS < 64 MiB whatever the file size; signing and verifying 1 GiB at least as fast as
# model-signing. A plain `cp` of the same file is timed too: the filesystem's own limit, which
# caps any file-to-file tool; cargo bench -p mlguard-crypt --bench body times the cipher alone.
#
# Usage: bench/model-crypt.sh [--size-mib 2048] [--rounds 2] [--sign-size-mib 1024]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
SIZE_MIB=2048
ROUNDS=2
SIGN_MIB=1024
while [ $# -gt 0 ]; do
    case $1 in
        --size-mib) SIZE_MIB=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --sign-size-mib) SIGN_MIB=$2; shift 2 ;;
        -h|--help) sed -n "2,17p" "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
for t in age age-keygen openssl /usr/bin/time python3; do
    command -v "$t" >/dev/null || { echo "$t not found (apt-get install age openssl time)" >&2; exit 2; }
done
PY=${MLGUARD_TEST_PYTHON:-$ROOT/.build/venv/bin/python}
MS=$(dirname "$PY")/model_signing
[ -x "$MS" ] || { echo "model_signing not found next to $PY (scripts/test installs it)" >&2; exit 2; }
cargo build --release -q -p mlguard
MLG=$ROOT/target/release/mlguard
W=/dev/shm/mlguard-crypt-bench
rm -rf "$W"; mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
head -c $((SIZE_MIB << 20)) /dev/urandom > "$W/model.bin"
"$MLG" model keygen -o "$W/model.key" 2>/dev/null
age-keygen -o "$W/age.key" 2>/dev/null
RECIP=$(age-keygen -y "$W/age.key")
KEYHEX=$(openssl rand -hex 32); IVHEX=$(openssl rand -hex 16)
BYTES=$((SIZE_MIB << 20))

# run NAME CMD... -> prints "seconds rss_kib"
run() {
    local name=$1; shift
    rm -f "$W/out"
    /usr/bin/time -f "%e %M" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; echo "$name failed" >&2; exit 1; }
    cat "$W/time"
}
declare -A BEST RSS
keep() { # key seconds rss
    if [ -z "${BEST[$1]:-}" ] || python3 -c "import sys; sys.exit(0 if $2 < ${BEST[$1]} else 1)"; then BEST[$1]=$2; fi
    if [ -z "${RSS[$1]:-}" ] || [ "$3" -gt "${RSS[$1]}" ]; then RSS[$1]=$3; fi
}
for r in $(seq "$ROUNDS"); do
    read -r s m < <(run mlguard-enc "$MLG" model encrypt "$W/model.bin" -o "$W/m.enc" --key "$W/model.key" --quiet --force); keep mlguard-enc "$s" "$m"
    read -r s m < <(run mlguard-dec "$MLG" model decrypt "$W/m.enc" -o "$W/m.dec" --key "$W/model.key" --quiet --force); keep mlguard-dec "$s" "$m"
    cmp -s "$W/model.bin" "$W/m.dec" || { echo "mlguard round trip differs" >&2; exit 1; }
    rm -f "$W/m.dec"
    read -r s m < <(run age-enc age -r "$RECIP" -o "$W/a.enc" "$W/model.bin"); keep age-enc "$s" "$m"
    read -r s m < <(run age-dec age -d -i "$W/age.key" -o "$W/a.dec" "$W/a.enc"); keep age-dec "$s" "$m"
    rm -f "$W/a.enc" "$W/a.dec"
    read -r s m < <(run openssl-enc openssl enc -aes-256-ctr -K "$KEYHEX" -iv "$IVHEX" -in "$W/model.bin" -out "$W/o.enc"); keep openssl-enc "$s" "$m"
    read -r s m < <(run openssl-dec openssl enc -d -aes-256-ctr -K "$KEYHEX" -iv "$IVHEX" -in "$W/o.enc" -out "$W/o.dec"); keep openssl-dec "$s" "$m"
    rm -f "$W/o.enc" "$W/o.dec" "$W/m.enc"
    # To /dev/null (streams): the same reads and cipher without the filesystem's write cost.
    "$MLG" model encrypt "$W/model.bin" -o "$W/m.enc" --key "$W/model.key" --quiet --force
    age -r "$RECIP" -o "$W/a.enc" "$W/model.bin"
    openssl enc -aes-256-ctr -K "$KEYHEX" -iv "$IVHEX" -in "$W/model.bin" -out "$W/o.enc"
    read -r s m < <(run mlguard-enc-null sh -c "exec '$MLG' model encrypt '$W/model.bin' -o - --key '$W/model.key' --quiet > /dev/null"); keep mlguard-enc-null "$s" "$m"
    read -r s m < <(run mlguard-dec-null sh -c "exec '$MLG' model decrypt '$W/m.enc' -o - --key '$W/model.key' --quiet > /dev/null"); keep mlguard-dec-null "$s" "$m"
    read -r s m < <(run age-enc-null age -r "$RECIP" -o /dev/null "$W/model.bin"); keep age-enc-null "$s" "$m"
    read -r s m < <(run age-dec-null age -d -i "$W/age.key" -o /dev/null "$W/a.enc"); keep age-dec-null "$s" "$m"
    read -r s m < <(run openssl-enc-null openssl enc -aes-256-ctr -K "$KEYHEX" -iv "$IVHEX" -in "$W/model.bin" -out /dev/null); keep openssl-enc-null "$s" "$m"
    read -r s m < <(run openssl-dec-null openssl enc -d -aes-256-ctr -K "$KEYHEX" -iv "$IVHEX" -in "$W/o.enc" -out /dev/null); keep openssl-dec-null "$s" "$m"
    rm -f "$W/m.enc" "$W/a.enc" "$W/o.enc"
    # The machine's limit for file to file in this filesystem: a plain copy, no cipher.
    read -r s m < <(run cp cp "$W/model.bin" "$W/copy"); keep cp "$s" "$m"
    rm -f "$W/copy"
done
CORES=$(nproc)
echo "encrypt/decrypt of ${SIZE_MIB} MiB in memory, best of $ROUNDS, $CORES cores"
printf '%-13s %9s %10s %12s\n' run seconds "GB/s" "peak RSS MiB"
for k in mlguard-enc mlguard-dec age-enc age-dec openssl-enc openssl-dec cp mlguard-enc-null mlguard-dec-null age-enc-null age-dec-null openssl-enc-null openssl-dec-null; do
    python3 -c "print(f'%-13s %9.3f %10.2f %12.1f' % ('$k', ${BEST[$k]}, $BYTES/${BEST[$k]}/1e9, ${RSS[$k]}/1024))"
done
python3 - "$BYTES" "$CORES" "${BEST[mlguard-enc]}" "${BEST[mlguard-dec]}" "${BEST[age-enc]}" "${BEST[age-dec]}" \
    "${BEST[openssl-enc]}" "${BEST[openssl-dec]}" "${RSS[mlguard-enc]}" "${RSS[mlguard-dec]}" "${BEST[cp]}" \
    "${BEST[mlguard-enc-null]}" "${BEST[mlguard-dec-null]}" "${BEST[age-enc-null]}" "${BEST[age-dec-null]}" \
    "${BEST[openssl-enc-null]}" "${BEST[openssl-dec-null]}" "${RSS[mlguard-enc-null]}" "${RSS[mlguard-dec-null]}" <<'PY'
import sys
b, cores = int(sys.argv[1]), int(sys.argv[2])
me, md, ae, ad, oe, od = map(float, sys.argv[3:9])
re_, rd = int(sys.argv[9]), int(sys.argv[10])
cp = float(sys.argv[11])
ne, nd, nae, nad, noe, nod = map(float, sys.argv[12:18])
nre, nrd = int(sys.argv[18]), int(sys.argv[19])
ok = True
def line(what, value, target, good):
    global ok
    ok &= good
    print(f"{what:<44} {value:>8} (target {target}): {'MET' if good else 'NOT MET'}")
print("file to file (in /dev/shm):")
line("  encrypt: mlguard / age throughput", f"{ae/me:.2f}x", ">= 2x", ae / me >= 2)
line("  decrypt: mlguard / age throughput", f"{ad/md:.2f}x", ">= 2x", ad / md >= 2)
line("  encrypt: mlguard / openssl enc throughput", f"{oe/me:.2f}x", ">= 1x", oe / me >= 1)
line("  decrypt: mlguard / openssl enc throughput", f"{od/md:.2f}x", ">= 1x", od / md >= 1)
print(f"{'  (reference) cp of the same file, GB/s':<44} {b/cp/1e9:>8.2} (the filesystem's copy limit; mlguard enc/dec at {cp/me:.2f}x/{cp/md:.2f}x cp's speed)")
line("  peak RSS, encrypt / decrypt (MiB)", f"{re_/1024:.0f}/{rd/1024:.0f}", "< 64", max(re_, rd) < 64 * 1024)
print("from page cache to /dev/null (no filesystem write):")
line("  encrypt: mlguard / age throughput", f"{nae/ne:.2f}x", ">= 2x", nae / ne >= 2)
line("  decrypt: mlguard / age throughput", f"{nad/nd:.2f}x", ">= 2x", nad / nd >= 2)
line("  encrypt: mlguard / openssl enc throughput", f"{noe/ne:.2f}x", ">= 1x", noe / ne >= 1)
line("  decrypt: mlguard / openssl enc throughput", f"{nod/nd:.2f}x", ">= 1x", nod / nd >= 1)
line("  encrypt: mlguard GB/s per core", f"{b/ne/1e9/cores:.2f}", ">= 1.5", b / ne / 1e9 / cores >= 1.5)
line("  decrypt: mlguard GB/s per core", f"{b/nd/1e9/cores:.2f}", ">= 1.5", b / nd / 1e9 / cores >= 1.5)
line("  peak RSS, encrypt / decrypt (MiB)", f"{nre/1024:.0f}/{nrd/1024:.0f}", "< 64", max(nre, nrd) < 64 * 1024)
print(f"  (file to file, per core: {b/me/1e9/cores:.2f} enc, {b/md/1e9/cores:.2f} dec GB/s, capped by the filesystem as cp shows)")
open("/dev/shm/mlguard-crypt-bench/crypt-ok", "w").write("1" if ok else "0")
PY
rm -f "$W/model.bin"

# Signing: one folder of 4 files summing SIGN_MIB, same key (ECDSA P-256) for both tools.
mkdir -p "$W/model"
for i in 1 2 3 4; do head -c $(((SIGN_MIB << 20) / 4)) /dev/urandom > "$W/model/shard-$i.safetensors"; done
echo '{"architectures":["LlamaForCausalLM"]}' > "$W/model/config.json"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$W/sign.key"
openssl ec -in "$W/sign.key" -pubout -out "$W/sign.pub" 2>/dev/null
declare -A SBEST
skeep() { if [ -z "${SBEST[$1]:-}" ] || python3 -c "import sys; sys.exit(0 if $2 < ${SBEST[$1]} else 1)"; then SBEST[$1]=$2; fi; }
for r in $(seq "$ROUNDS"); do
    read -r s m < <(run mlguard-sign "$MLG" model sign "$W/model" --key "$W/sign.key" --signature "$W/m.sig"); skeep mlguard-sign "$s"
    read -r s m < <(run mlguard-verify "$MLG" model verify "$W/model" --key "$W/sign.pub" --signature "$W/m.sig"); skeep mlguard-verify "$s"
    read -r s m < <(run ms-sign "$MS" sign key "$W/model" --private_key "$W/sign.key" --signature "$W/ms.sig"); skeep ms-sign "$s"
    read -r s m < <(run ms-verify "$MS" verify key "$W/model" --public_key "$W/sign.pub" --signature "$W/ms.sig"); skeep ms-verify "$s"
done
echo
echo "sign/verify of a ${SIGN_MIB} MiB folder (4 shards + config), best of $ROUNDS"
printf '%-15s %9s\n' run seconds
for k in mlguard-sign ms-sign mlguard-verify ms-verify; do printf '%-15s %9.3f\n' "$k" "${SBEST[$k]}"; done
python3 - "${SBEST[mlguard-sign]}" "${SBEST[ms-sign]}" "${SBEST[mlguard-verify]}" "${SBEST[ms-verify]}" <<'PY'
import sys
ms, ps, mv, pv = map(float, sys.argv[1:5])
ok = open("/dev/shm/mlguard-crypt-bench/crypt-ok").read() == "1"
for what, m, p in (("sign", ms, ps), ("verify", mv, pv)):
    good = m <= p
    ok &= good
    print(f"{what}: model-signing / mlguard time {p/m:.2f}x (target >= 1x): {'MET' if good else 'NOT MET'}")
print("targets:", "MET" if ok else "NOT MET")
PY
