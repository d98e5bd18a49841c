#!/usr/bin/env bash
# sipp for the harness (SIPP=this file): UAC runs get one UDP socket per call (-t un), so calls
# come from many source ports, as from many phones, and SO_REUSEPORT spreads them over Olelo's
# workers (one socket = one 4-tuple = one worker). The UAS (uas_rr.xml) runs unchanged.
for a in "$@"; do [[ "$a" == *uas_rr.xml || "$a" == -v ]] && exec sipp "$@"; done
exec sipp -t un -max_socket 10000 "$@"
