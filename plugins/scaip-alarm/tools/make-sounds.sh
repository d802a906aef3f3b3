#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes the scaip-alarm plugin's local feedback sounds in data/sounds/ (committed; run
# again only to change them): a two-note tone, and each spoken message in Swedish and
# English, synthesised by espeak-ng, levelled by sox, encoded as Ogg/Opus by GStreamer.
# Needs the Debian packages espeak-ng, sox and gstreamer1.0-tools (with -base for Opus).
#   plugins/scaip-alarm/tools/make-sounds.sh [OUTDIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/../../../data/sounds}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# WAV in, Ogg/Opus out: mono, 16 kHz is plenty for speech and a tone.
encode() {
  gst-launch-1.0 -q filesrc location="$1" ! wavparse ! audioconvert ! audioresample \
    ! audio/x-raw,rate=16000,channels=1 ! opusenc bitrate=24000 ! oggmux \
    ! filesink location="$2"
}

# say LANG NAME TEXT: espeak-ng voice LANG, slow and clear, a little silence at the ends.
say() {
  local lang=$1 name=$2 text=$3
  mkdir -p "$out/$lang"
  espeak-ng -v "$lang" -s 135 -w "$work/raw.wav" "$text"
  sox "$work/raw.wav" -r 16000 -c 1 -b 16 "$work/$lang-$name.wav" norm -3 pad 0.1 0.2
  encode "$work/$lang-$name.wav" "$out/$lang/$name.oga"
}

mkdir -p "$out"
sox -n -r 16000 -c 1 -b 16 "$work/a.wav" synth 0.18 sine 880 fade q 0.01 0.18 0.04 vol 0.6
sox -n -r 16000 -c 1 -b 16 "$work/b.wav" synth 0.30 sine 1175 fade q 0.01 0.30 0.10 vol 0.6
sox "$work/a.wav" "$work/b.wav" "$work/tone.wav" pad 0.05 0.1
encode "$work/tone.wav" "$out/tone.oga"

say sv alarm-sent "Larmet är skickat."
say sv help-coming "Hjälp är på väg."
say sv alarm-cancelled "Larmet är avbrutet."
say en alarm-sent "Your alarm has been sent."
say en help-coming "Help is on the way."
say en alarm-cancelled "The alarm is cancelled."
ls -l "$out" "$out"/*/
