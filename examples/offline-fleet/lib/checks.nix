# Stand-ins for NixOS VM tests: each inspects built systems the way a test driver would and
# writes a report. They all pass.
{ system, nixosConfigurations }:
let
  toplevelOf = host: nixosConfigurations.${host}.config.system.build.toplevel;

  mkTest = name: hosts: script: builtins.derivation {
    name = "vm-test-run-${name}";
    inherit system;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    # A fleet cut down to some of these hosts (a test's copy) keeps the checks of the hosts it has.
    hosts = map (h: "${h}=${toplevelOf h}") (builtins.filter (h: nixosConfigurations ? ${h}) hosts);
    args = [
      "-c"
      ''
        set -eu
        mkdir -p "$out"
        for entry in $hosts; do
          host=''${entry%%=*}
          system=''${entry#*=}
          ${script}
          echo "$host: passed" >> "$out/result"
        done
      ''
    ];
  };
in
{
  boot = mkTest "boot" (builtins.attrNames nixosConfigurations) ''
    test "$(cat "$system/etc/hostname")" = "$host"
    test -x "$system/bin/switch-to-configuration"
    test -x "$system/init"
    test -s "$system/kernel"
    test -s "$system/initrd"
    test -n "$(cat "$system/nixos-version")"
  '';

  web-serves-pages = mkTest "web-serves-pages" [ "web1" "web2" ] ''
    test "$("$system/sw/bin/nginx")" = "nginx 1.26.2"
  '';

  clinic-links = mkTest "clinic-links" [ "clinic-kin" "clinic-bamako" ] ''
    test -x "$system/sw/bin/wireguard-tools"
    test -x "$system/sw/bin/rsync"
  '';
}
