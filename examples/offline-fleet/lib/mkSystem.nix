# Builds something shaped like a NixOS system for one host: the toplevel derivation with
# bin/switch-to-configuration, nixos-version, kernel, initrd, init, etc/ and sw/, plus the few
# `config` attributes tools read (networking.hostName, system.nixos.release, system.build.toplevel).
{ system, pkgs, switchToConfiguration }:
{ hostName, packages ? [ ], variant ? "1", siteKiB ? 256 }:
let
  release = "24.11";
  # Like a nixpkgs revision: every variant gets its own label, so a new variant is a new system.
  revision = builtins.substring 0 7 (builtins.hashString "sha1" variant);
  label = "${release}.20241201.${revision}";
  # Store names allow only some characters; other variants show up through the label's hash.
  variantName = if builtins.match "[A-Za-z0-9._+-]+" variant != null then variant else revision;

  run = name: env: script: builtins.derivation ({
    inherit name system;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    args = [ "-c" ("set -eu\n" + script) ];
  } // env);

  # The host's own package: configuration and data no other host has, changed by every variant.
  site = run "site-${hostName}-${variantName}" { inherit hostName variant siteKiB; } ''
    mkdir -p "$out/etc" "$out/share/site"
    printf 'host=%s\nvariant=%s\n' "$hostName" "$variant" > "$out/etc/site.conf"
    seq -f "$hostName $variant %g" 1 $((siteKiB * 1000)) | gzip -n -1 | head -c $((siteKiB * 1024)) > "$out/share/site/data"
  '';

  allPackages = pkgs.base ++ packages;

  systemPath = run "system-path" { paths = map toString allPackages; } ''
    mkdir -p "$out/bin" "$out/share"
    for p in $paths; do
      for f in "$p"/bin/*; do ln -s "$f" "$out/bin/"; done
      for d in "$p"/share/*; do ln -s "$d" "$out/share/"; done
    done
  '';

  etc = run "etc" { inherit hostName label site; } ''
    mkdir -p "$out/etc"
    printf '%s\n' "$hostName" > "$out/etc/hostname"
    printf 'NAME=NixOS\nID=nixos\nVERSION_ID="${release}"\nBUILD_ID="%s"\nPRETTY_NAME="NixOS ${release} (Vicuna)"\n' "$label" > "$out/etc/os-release"
    ln -s "$site/etc/site.conf" "$out/etc/site.conf"
  '';

  toplevel = run "nixos-system-${hostName}-${label}" {
    inherit hostName label etc systemPath switchToConfiguration;
    inherit (pkgs) kernel initrd systemd;
  } ''
    mkdir -p "$out/bin"
    cp "$switchToConfiguration" "$out/bin/switch-to-configuration"
    chmod 0755 "$out/bin/switch-to-configuration"
    printf '%s' "$label" > "$out/nixos-version"
    printf '%s' "${system}" > "$out/system"
    printf '%s' systemd > "$out/init-interface-version"
    printf 'init=%s/init loglevel=4' "$out" > "$out/kernel-params"
    ln -s "$kernel/bzImage" "$out/kernel"
    ln -s "$kernel/lib/modules" "$out/kernel-modules"
    ln -s "$initrd/initrd" "$out/initrd"
    ln -s "$etc/etc" "$out/etc"
    ln -s "$systemPath" "$out/sw"
    ln -s "$systemd" "$out/systemd"
    printf '#!/bin/sh\n# Stage 2 of boot: hand over to systemd.\nexec %s/bin/systemd "$@"\n' "$systemd" > "$out/init"
    chmod 0755 "$out/init"
  '';
in
{
  # The attributes of a NixOS configuration that fleet tooling reads.
  config = {
    networking.hostName = hostName;
    system.nixos = { inherit release label; version = label; revision = revision; };
    system.stateVersion = release;
    system.build = { inherit toplevel etc; };
    nixpkgs.hostPlatform.system = system;
    environment.systemPackages = map (p: p.name) allPackages;
  };
  _type = "configuration";
}
