# SPDX-License-Identifier: MIT
# Generates the binade-profile format catalogs lee22 / lee22-extra (CSV + C++ data) from their rules.
"""Generate fmtsim's binade-profile format catalogs.

Usage (Python 3 standard library only, run from anywhere):

    python3 formats/generate_catalogs.py            # (re)write the generated files
    python3 formats/generate_catalogs.py --check    # regenerate in memory, diff with the
                                                    # files on disk, exit 1 on mismatch

Generated files (paths relative to the repository root):

    formats/lee22.csv
    formats/lee22-extra.csv
    include/fmtsim/formats/catalog_data.inc

Binade profiles (docs/catalogs.md, formats.md section 1.3)
-----------------------------------------------------------
A profile [m0, m1, ..., m(L-1)] lists, from the top binade d = 0 downwards, how many
significant bits m_d (hidden bit included) binade d has: binade d holds 2^(m_d - 1) equally
spaced magnitudes.  Every profile in these catalogs ends with exactly one entry 0 (the band
that only rounds to zero; its code is the zero) and all entries before it are >= 1.  An
n-bit profile is sign-magnitude: one sign bit, 2^(n-1) - 1 non-zero magnitudes and one zero.

Catalog lee22: the rule (formats.md 1.3)
----------------------------------------
The exact list of the 498 candidate formats of Lee, Park and Jeon (ICLR 2022) is not public;
fmtsim reconstructs it with this rule.  lee22 holds, for n = 8, 7 and 6 bits, every profile
that

  (a) uses every code: sum over the entries m_d >= 1 of 2^(m_d - 1) == 2^(n-1) - 1
      (the trailing 0 entry is the zero),
  (b) never gains precision toward zero: m_d >= m_(d+1),
  (c) loses at most one bit per binade: m_d - m_(d+1) <= 1,
  (d) has at most two plateaus, a plateau being a maximal run of two or more equal
      entries (a float body, or a float body plus one float-fix step), and
  (e) spans at most 54 binades before the final 0 (len(profile) - 1 <= 54).

Reading used (the only one needed): the final 0 is a single entry closing the profile and
is neither a binade of the dynamic range nor part of a plateau.  This reading gives the
pinned counts 252 (8-bit) + 185 (7-bit) + 61 (6-bit) = 498; the generator refuses to write
anything if the counts differ.

Catalog lee22-extra: the paper scripts' other families
------------------------------------------------------
Three families, for the same widths (n = 8, 7, 6) unless stated.  Below,
fp1xy(x, y) = [(y+1) x (2^x - 1), y, y-1, ..., 1, 0] is the fp1xy alias of formats.md 1.3
(x exponent bits, y mantissa bits, 1 + x + y = n bits); B = 2^x - 1 is the length of its
float body.

  sliding windows: start from an fp1xy base that is itself in lee22 with x >= 2 and
      y >= 1, and raise a window of K consecutive body binades from y+1 to y+2 bits while
      dropping 2K body binades (codes are preserved: 2K * 2^y == K * 2^(y+1)).  The window
      starts j binades below the top:
          [(y+1) x j, (y+2) x K, (y+1) x (B - 2K - j), y, y-1, ..., 1, 0]
      with K >= 1 and 1 <= j <= B - 2K.  (j = 0 is the monotone FP1xy -> FP1(x-1)(y+1)
      family, e.g. FP143 -> FP134, which already is in lee22; j >= 1 breaks rule (b).)
      The scripts slide windows of 5-bit binades through the FP143 body; this family
      applies the same construction to every fp1xy base of lee22.
  log tails: an fp1xy float body whose subnormal tail y, y-1, ..., 1 (2^y - 1 codes) is
      replaced by 2^y - 1 one-bit binades (a logarithmic tail):
          lfp1xy = [(y+1) x (2^x - 1), 1 x (2^y - 1), 0],   x >= 1, y >= 2
      (y = 1 would give fp1x1 again).  LFP8 = lfp143 = bp:4x15,1x7,0 and
      lfp134 = bp:5x7,1x15,0 are the two tails of the scripts.
  logarithmic: log<N> = [1 x (2^(N-1) - 1), 0] (formats.md 1.4) for N = 4 .. 8, the
      paper's 4-bit weight format and its wider siblings.

Every extra entry also satisfies (a) for its width and (e); entries that already are in
lee22 (log6 = bp:1x31,0) or that break (e) (log7, log8, lfp116) are left out, so no entry
of lee22-extra duplicates an entry of lee22.

Ids, names, ordering
--------------------
id: the canonical bp spelling: "bp:" then the entries comma-separated, a run of K >= 2
equal entries A written AxK, e.g. FP134 = bp:5x7,4,3,2,1,0, INT8-like = bp:7,6,5,4,3,2,1,0.

name (empty when none applies), checked in this order:
  int<n>  the INT-like profile [n-1, n-2, ..., 1, 0] (sign-magnitude, = fp11(n-2));
  log<n>  the pure logarithmic profile [1 x (2^(n-1) - 1), 0] (= fp1(n-1)0);
  fp1xy   a profile equal to the fp1xy alias; the digits give the width (1 + x + y = n),
          so the rule is the same for 8-, 7- and 6-bit profiles (fp134, fp133, fp132...);
  lfp8    the log-tail profile lfp143 (the paper's name); other log tails are lfp1xy.
Each int<n>/log<n>/lfp8 entry also has its systematic spelling as an alias
(fp116 -> int8, fp150 -> log6, lfp143 -> lfp8, ...), listed in the C++ alias table.

Order inside each catalog: bits descending, then profile descending in lexicographic
order of the entry lists (Python list comparison), so INT-like profiles come first within
a width.  The order does not depend on how the profiles were found.

Columns of the CSV files: id, name, bits, profile (entries separated by spaces),
binades (dynamic range in binades = number of entries before the final 0),
codes (2^bits).  The first line is a comment naming the generating command.
"""

import argparse
import csv
import difflib
import io
import os
import sys
import tempfile

COMMAND = "python3 formats/generate_catalogs.py"
MAX_BINADES = 54
LEE22_BITS = (8, 7, 6)
LEE22_PINNED = {8: 252, 7: 185, 6: 61}
LEE22_TOTAL = 498
LOG_BITS = range(4, 9)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_LEE22 = os.path.join("formats", "lee22.csv")
OUT_EXTRA = os.path.join("formats", "lee22-extra.csv")
OUT_INC = os.path.join("include", "fmtsim", "formats", "catalog_data.inc")


# --------------------------------------------------------------------------- the rule

def magnitudes(profile):
    """Non-zero magnitudes of a profile: sum over m_d >= 1 of 2^(m_d - 1)."""
    return sum(1 << (m - 1) for m in profile if m >= 1)


def runs(profile):
    """Maximal runs of equal entries as (value, length) pairs, top binade first."""
    out = []
    for m in profile:
        if out and out[-1][0] == m:
            out[-1][1] += 1
        else:
            out.append([m, 1])
    return [(v, k) for v, k in out]


def binades(profile):
    """Dynamic range in binades: the number of entries before the final 0."""
    return len(profile) - 1


def well_formed(profile):
    """Non-empty, exactly one 0 and it is the last entry, all other entries >= 1."""
    return (len(profile) >= 1 and profile[-1] == 0
            and all(m >= 1 for m in profile[:-1]))


def lee22_violations(profile, bits):
    """Letters of the rules (a)-(e) that the profile breaks ('form' if malformed)."""
    if not well_formed(profile):
        return ["form"]
    bad = []
    if magnitudes(profile) != (1 << (bits - 1)) - 1:
        bad.append("a")
    pairs = list(zip(profile, profile[1:]))
    if any(hi < lo for hi, lo in pairs):
        bad.append("b")
    if any(hi - lo > 1 for hi, lo in pairs):
        bad.append("c")
    body = profile[:-1]  # the final 0 is the zero, not a binade of a plateau
    if sum(1 for _, k in runs(body) if k >= 2) > 2:
        bad.append("d")
    if binades(profile) > MAX_BINADES:
        bad.append("e")
    return bad


def enumerate_lee22(bits):
    """All profiles of `bits` bits that satisfy (a)-(e).

    Candidates are grown top-down with each next entry equal to the previous one or one
    less (the shapes allowed by (b) and (c)) until the 0 entry.  A branch is cut when no
    completion can satisfy the rule: it already has more than 54 binades, more than two
    plateaus (extending a prefix never removes one), or more magnitudes than
    2^(bits-1) - 1 once the cheapest completion (one binade each of last-1, ..., 1,
    i.e. 2^(last-1) - 1 magnitudes) is added.  Every finished candidate is then tested
    against the full rule, (a)-(e).
    """
    target = (1 << (bits - 1)) - 1
    found = []

    def grow(prefix, used):
        last = prefix[-1]
        if (len(prefix) > MAX_BINADES
                or used + (1 << (last - 1)) - 1 > target
                or sum(1 for _, k in runs(prefix) if k >= 2) > 2):
            return
        for nxt in (last, last - 1):
            if nxt == 0:
                cand = prefix + [0]
                if not lee22_violations(cand, bits):
                    found.append(cand)
            elif nxt >= 1:
                grow(prefix + [nxt], used + (1 << (nxt - 1)))

    for top in range(1, bits):
        grow([top], 1 << (top - 1))
    return found


# --------------------------------------------------------------------------- families

def fp1xy(x, y):
    """The fp1xy alias of formats.md 1.3: [(y+1) x (2^x - 1), y, y-1, ..., 1, 0]."""
    return [y + 1] * ((1 << x) - 1) + list(range(y, -1, -1))


def sliding_windows(lee22_set):
    out = []
    for bits in LEE22_BITS:
        for x in range(2, bits):
            y = bits - 1 - x
            if y < 1 or tuple(fp1xy(x, y)) not in lee22_set:
                continue
            body = (1 << x) - 1
            tail = list(range(y, -1, -1))
            for k in range(1, (body - 1) // 2 + 1):
                for j in range(1, body - 2 * k + 1):
                    prof = ([y + 1] * j + [y + 2] * k + [y + 1] * (body - 2 * k - j)
                            + tail)
                    out.append((bits, prof))
    return out


def log_tails():
    out = []
    for bits in LEE22_BITS:
        for x in range(1, bits):
            y = bits - 1 - x
            if y < 2:
                continue
            out.append((bits, [y + 1] * ((1 << x) - 1) + [1] * ((1 << y) - 1) + [0]))
    return out


def log_formats():
    return [(n, [1] * ((1 << (n - 1)) - 1) + [0]) for n in LOG_BITS]


# --------------------------------------------------------------------------- naming

def profile_id(profile):
    """Canonical bp spelling: runs of K >= 2 equal entries A written AxK."""
    parts = [f"{v}x{k}" if k >= 2 else f"{v}" for v, k in runs(profile)]
    return "bp:" + ",".join(parts)


def fp_names(bits, profile):
    """(name, aliases) from the int<n> / log<n> / fp1xy naming rule, or (None, [])."""
    for x in range(1, bits):
        y = bits - 1 - x
        if profile != fp1xy(x, y):
            continue
        assert x <= 9 and y <= 9
        systematic = f"fp1{x}{y}"
        if x == 1:
            return f"int{bits}", [systematic]
        if y == 0:
            return f"log{bits}", [systematic]
        return systematic, []
    return None, []


def lfp_names(bits, profile):
    for x in range(1, bits):
        y = bits - 1 - x
        if y >= 2 and profile == [y + 1] * ((1 << x) - 1) + [1] * ((1 << y) - 1) + [0]:
            systematic = f"lfp1{x}{y}"
            if systematic == "lfp143":
                return "lfp8", [systematic]
            return systematic, []
    return None, []


# --------------------------------------------------------------------------- catalogs

def make_entry(bits, profile):
    name, aliases = fp_names(bits, profile)
    if name is None:
        name, aliases = lfp_names(bits, profile)
    return {
        "id": profile_id(profile),
        "name": name or "",
        "aliases": aliases,
        "bits": bits,
        "profile": list(profile),
        "binades": binades(profile),
        "codes": 1 << bits,
    }


def sort_entries(entries):
    return sorted(entries, key=lambda e: (e["bits"], e["profile"]), reverse=True)


def build_catalogs():
    lee22 = []
    for bits in LEE22_BITS:
        profs = enumerate_lee22(bits)
        if len(profs) != LEE22_PINNED[bits]:
            raise SystemExit(f"lee22: the rule gives {len(profs)} {bits}-bit profiles, "
                             f"formats.md pins {LEE22_PINNED[bits]}")
        lee22 += [make_entry(bits, p) for p in profs]
    if len(lee22) != LEE22_TOTAL:
        raise SystemExit(f"lee22: {len(lee22)} profiles, formats.md pins {LEE22_TOTAL}")
    lee22_set = {tuple(e["profile"]) for e in lee22}

    extra = []
    seen = set()
    for bits, prof in sliding_windows(lee22_set) + log_tails() + log_formats():
        key = tuple(prof)
        if key in lee22_set or binades(prof) > MAX_BINADES:
            continue
        if key in seen:
            raise SystemExit(f"lee22-extra: {profile_id(prof)} generated twice")
        if not well_formed(prof) or magnitudes(prof) != (1 << (bits - 1)) - 1:
            raise SystemExit(f"lee22-extra: {profile_id(prof)} does not use every code "
                             f"of {bits} bits")
        seen.add(key)
        extra.append(make_entry(bits, prof))

    lee22 = sort_entries(lee22)
    extra = sort_entries(extra)
    for cat_name, cat in (("lee22", lee22), ("lee22-extra", extra)):
        ids = [e["id"] for e in cat]
        if len(set(ids)) != len(ids):
            raise SystemExit(f"{cat_name}: duplicate ids")
    names = [e["name"] for e in lee22 + extra if e["name"]]
    aliases = [a for e in lee22 + extra for a in e["aliases"]]
    if len(set(names + aliases)) != len(names) + len(aliases):
        raise SystemExit("duplicate short names or aliases")
    return lee22, extra


# --------------------------------------------------------------------------- output

def render_csv(entries):
    buf = io.StringIO()
    buf.write(f"# generated by: {COMMAND}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "name", "bits", "profile", "binades", "codes"])
    for e in entries:
        writer.writerow([e["id"], e["name"], e["bits"],
                         " ".join(str(m) for m in e["profile"]), e["binades"], e["codes"]])
    return buf.getvalue()


def render_inc(lee22, extra):
    out = []
    w = out.append
    w("// SPDX-License-Identifier: MIT\n")
    w("// Generated data of the binade-profile format catalogs lee22 and lee22-extra.\n")
    w(f"// generated by: {COMMAND} -- do not edit, regenerate.\n")
    w("// Included only by fmtsim/formats/catalog.hpp, inside namespace fmtsim::detail.\n")
    w("// Each entry: {id, name, bits, profile, binades}; the profile spans point into\n")
    w("// the *_profile_data arrays.\n")
    w("#ifndef FMTSIM_DETAIL_INCLUDING_CATALOG_DATA\n")
    w('#error "catalog_data.inc is included by fmtsim/formats/catalog.hpp only"\n')
    w("#endif\n")
    for var, entries in (("lee22", lee22), ("lee22_extra", extra)):
        w("\n")
        w(f"inline constexpr std::int8_t {var}_profile_data[] = {{\n")
        offsets = []
        pos = 0
        for e in entries:
            offsets.append(pos)
            pos += len(e["profile"])
            w("    " + ", ".join(str(m) for m in e["profile"]) + f",  // {e['id']}\n")
        w("};\n\n")
        w(f"inline constexpr catalog_entry {var}_entries[] = {{\n")
        for e, off in zip(entries, offsets):
            w(f'    {{"{e["id"]}", "{e["name"]}", {e["bits"]}, '
              f'{{{var}_profile_data + {off}, {len(e["profile"])}}}, {e["binades"]}}},\n')
        w("};\n")
    w("\n")
    w("inline constexpr catalog_alias catalog_aliases[] = {\n")
    for e in lee22 + extra:
        for a in e["aliases"]:
            w(f'    {{"{a}", "{e["id"]}"}},  // = {e["name"]}\n')
    w("};\n")
    return "".join(out)


def render_all():
    lee22, extra = build_catalogs()
    return {
        OUT_LEE22: render_csv(lee22),
        OUT_EXTRA: render_csv(extra),
        OUT_INC: render_inc(lee22, extra),
    }


def write_atomic(path, text):
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_text(path):
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except FileNotFoundError:
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Generate the lee22 / lee22-extra binade-profile catalogs.")
    parser.add_argument("--check", action="store_true",
                        help="regenerate in memory and diff with the files on disk; "
                             "exit 1 on any difference")
    args = parser.parse_args(argv)

    files = render_all()
    if args.check:
        stale = 0
        for rel, text in files.items():
            on_disk = read_text(os.path.join(ROOT, rel))
            if on_disk == text:
                continue
            stale += 1
            if on_disk is None:
                print(f"{rel}: missing", file=sys.stderr)
                on_disk = ""
            sys.stdout.writelines(difflib.unified_diff(
                on_disk.splitlines(keepends=True), text.splitlines(keepends=True),
                fromfile=f"{rel} (on disk)", tofile=f"{rel} (regenerated)"))
        if stale:
            print(f"{stale} generated file(s) out of date; run: {COMMAND}", file=sys.stderr)
            return 1
        print(f"{len(files)} generated files up to date")
        return 0

    for rel, text in files.items():
        path = os.path.join(ROOT, rel)
        if read_text(path) != text:
            write_atomic(path, text)
            print(f"wrote {rel}")
        else:
            print(f"unchanged {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
