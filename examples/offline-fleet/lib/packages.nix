# Stand-ins for nixpkgs packages: real derivations built by /bin/sh from the host's coreutils,
# with no nixpkgs and no network. Each carries a name with a version (so closure diffs read like
# real ones), a bin/ program, references to its dependencies, and some data so closures have size.
{ system }:
let
  mkPackage = { pname, version, deps ? [ ], dataKiB ? 16 }:
    builtins.derivation {
      name = "${pname}-${version}";
      inherit system pname version dataKiB;
      # Store paths of the dependencies; written into the output so Nix records them as references.
      deps = map toString deps;
      builder = "/bin/sh";
      PATH = "/usr/bin:/bin";
      args = [
        "-c"
        ''
          set -eu
          mkdir -p "$out/bin" "$out/share/$pname" "$out/nix-support"
          printf '#!/bin/sh\necho "%s %s"\n' "$pname" "$version" > "$out/bin/$pname"
          chmod +x "$out/bin/$pname"
          echo "$deps" > "$out/nix-support/propagated-build-inputs"
          # Deterministic, incompressible bytes (gzip output of counted lines).
          seq -f "$pname $version %g" 1 $((dataKiB * 1000)) | gzip -n -1 | head -c $((dataKiB * 1024)) > "$out/share/$pname/data"
        ''
      ];
    };
in
rec {
  inherit mkPackage;

  glibc = mkPackage { pname = "glibc"; version = "2.40-36"; dataKiB = 256; };
  # The ~4 MB blob every host shares.
  glibc-locales = mkPackage { pname = "glibc-locales"; version = "2.40-36"; dataKiB = 4096; };
  bash = mkPackage { pname = "bash"; version = "5.2p37"; deps = [ glibc ]; dataKiB = 64; };
  coreutils = mkPackage { pname = "coreutils"; version = "9.5"; deps = [ glibc ]; dataKiB = 128; };
  openssl = mkPackage { pname = "openssl"; version = "3.0.15"; deps = [ glibc ]; dataKiB = 192; };
  tzdata = mkPackage { pname = "tzdata"; version = "2024b"; dataKiB = 64; };
  systemd = mkPackage { pname = "systemd"; version = "256.8"; deps = [ glibc openssl bash ]; dataKiB = 256; };
  openssh = mkPackage { pname = "openssh"; version = "9.9p1"; deps = [ glibc openssl ]; dataKiB = 96; };

  nginx = mkPackage { pname = "nginx"; version = "1.26.2"; deps = [ glibc openssl ]; dataKiB = 128; };
  postgresql = mkPackage { pname = "postgresql"; version = "16.4"; deps = [ glibc openssl tzdata ]; dataKiB = 320; };
  prometheus = mkPackage { pname = "prometheus"; version = "2.54.1"; dataKiB = 256; };
  grafana = mkPackage { pname = "grafana"; version = "11.3.0"; dataKiB = 320; };
  haproxy = mkPackage { pname = "haproxy"; version = "3.0.5"; deps = [ glibc openssl ]; dataKiB = 96; };
  wireguard-tools = mkPackage { pname = "wireguard-tools"; version = "1.0.20210914"; deps = [ bash ]; dataKiB = 32; };
  rsync = mkPackage { pname = "rsync"; version = "3.3.0"; deps = [ glibc openssl ]; dataKiB = 64; };

  # What every host runs.
  base = [ glibc glibc-locales bash coreutils openssl tzdata systemd openssh ];

  # One kernel and initrd for the whole fleet.
  kernel = builtins.derivation {
    name = "linux-6.6.63";
    inherit system;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    args = [
      "-c"
      ''
        set -eu
        mkdir -p "$out/lib/modules/6.6.63"
        seq -f "linux 6.6.63 %g" 1 360000 | gzip -n -1 | head -c 614400 > "$out/bzImage"
        echo "kernel/drivers/net/wireguard/wireguard.ko:" > "$out/lib/modules/6.6.63/modules.dep"
      ''
    ];
  };

  initrd = builtins.derivation {
    name = "initrd-linux-6.6.63";
    inherit system kernel;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    args = [
      "-c"
      ''
        set -eu
        mkdir -p "$out"
        { echo "modules from $kernel/lib/modules"; seq -f "initrd %g" 1 180000 | gzip -n -1 | head -c 307200; } > "$out/initrd"
      ''
    ];
  };
}
