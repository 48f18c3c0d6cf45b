# NixOS module for fleet's self-hosted cache server: nginx serving the binary cache, the signed
# manifests and the pull hosts' status reports from one directory (see host/agent/README.md).
#
#   imports = [ "${fleet}/host/nixos/fleet-cache-server.nix" ];
#   services.fleet-cache-server = {
#     enable = true;
#     serverName = "cache.example.org";
#     inventory = "${fleet-config}/fleet.yaml";            # pull hosts get report tokens
#     reportSecretFile = "/run/keys/fleet-report-secret";  # fleet-cache-credentials.sh new-secret
#     writersFile = "/run/keys/fleet-cache-writers";       # htpasswd: ci:$6$…
#   };
#   services.nginx.virtualHosts."cache.example.org" = { enableACME = true; forceSSL = true; };
#
# Anyone reads everything (GET/HEAD, JSON listings); the CI writers (basic auth) write the cache
# and the manifests; each host PUTs only fleet/status/<host>.json, with its own token
# (HMAC of the master secret and its name: host/cache-server/fleet-cache-credentials.sh token).
# The secret and the writers' file are read at service start, never copied into the Nix store.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.fleet-cache-server;
  inherit (lib) mkEnableOption mkIf mkOption types concatStringsSep;
  runtimeDir = "/run/fleet-cache-server";

  # The credentials script and the nginx config it serves, as they lie in host/cache-server.
  serverFiles = builtins.path { name = "fleet-cache-server"; path = ../cache-server; };
  nginxConfig = file: builtins.replaceStrings [ "@runtimeDir@" ] [ runtimeDir ] (builtins.readFile (../cache-server + "/${file}"));

  # YAML is read at build time (no import-from-derivation): the names go to a file the
  # credentials service reads, and it refuses any name outside the inventory's rule.
  inventoryHosts = pkgs.runCommand "fleet-report-hosts-from-inventory" { nativeBuildInputs = [ pkgs.yq ]; } ''
    yq -r -f ${serverFiles}/report-hosts.jq ${cfg.inventory} > $out
  '';
  reportHostsFile = pkgs.runCommand "fleet-report-hosts" { } ''
    { ${lib.optionalString (cfg.inventory != null) "cat ${inventoryHosts};"} printf '%s\n' ${lib.escapeShellArgs cfg.reportHosts}; } | sort -u > $out
  '';
in
{
  options.services.fleet-cache-server = {
    enable = mkEnableOption "fleet's cache server: nginx serving the binary cache, signed manifests and per-host status reports";

    serverName = mkOption {
      type = types.str;
      example = "cache.example.org";
      description = "The nginx virtual host. TLS, listen addresses and ACME are set on services.nginx.virtualHosts.<serverName>.";
    };

    root = mkOption {
      type = types.str;
      default = "/var/lib/fleet-cache";
      description = "The directory served and written: nix-cache-info, *.narinfo, nar/, fleet/.";
    };

    inventory = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = lib.literalExpression "./fleet.yaml";
      description = "The fleet inventory (fleet.yaml): every host deployed by pull (its deploy.method, else defaults.deploy.method) gets a report token.";
    };

    reportHosts = mkOption {
      type = types.listOf (types.strMatching "[A-Za-z0-9][A-Za-z0-9._-]*");
      default = [ ];
      example = [ "clinic-kin" ];
      description = "Further hosts that get a report token, beside the inventory's pull hosts.";
    };

    reportSecretFile = mkOption {
      type = types.str;
      example = "/run/keys/fleet-report-secret";
      description = ''
        A root-only file with the master secret (64 hex digits, from
        `fleet-cache-credentials.sh new-secret`) every host's token is derived from. A path on
        the server, not in the Nix store (which is world-readable). A new secret, once the
        fleet-cache-server-credentials service restarts, voids every token.
      '';
    };

    writersFile = mkOption {
      type = types.str;
      example = "/run/keys/fleet-cache-writers";
      description = ''
        A root-only htpasswd file (user:crypt-hash lines, e.g. `printf 'ci:%s\n' "$(openssl passwd -6)"`)
        of those who write the cache and manifests: the CI, with `https://ci:PASSWORD@cache.example.org`
        as action-build's and action-deploy's cache URL. Not in the Nix store.
      '';
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      { assertion = cfg.inventory != null || cfg.reportHosts != [ ]; message = "services.fleet-cache-server: set inventory or reportHosts (the hosts that report)"; }
      { assertion = !(lib.hasPrefix builtins.storeDir cfg.reportSecretFile) && !(lib.hasPrefix builtins.storeDir cfg.writersFile); message = "services.fleet-cache-server: reportSecretFile and writersFile must not be in the Nix store"; }
    ];

    systemd.tmpfiles.rules = [ "d ${cfg.root} 0755 ${config.services.nginx.user} ${config.services.nginx.group} -" ];

    # Derives the token map and copies the writers' file for nginx (root:nginx 0640 in /run).
    systemd.services.fleet-cache-server-credentials = {
      description = "fleet cache server: per-host report tokens and CI writers for nginx";
      before = [ "nginx.service" ];
      requiredBy = [ "nginx.service" ];
      path = [ pkgs.coreutils pkgs.gnugrep ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        User = "root";
        Group = config.services.nginx.group;
        UMask = "0027";
        RuntimeDirectory = "fleet-cache-server";
        RuntimeDirectoryMode = "0750";
        # A restart (new secret, new inventory) reaches nginx at once; --no-block: nginx may be starting.
        ExecStartPost = "${config.systemd.package}/bin/systemctl --no-block try-reload-or-restart nginx.service";
        ExecStart = [
          "${pkgs.bash}/bin/sh ${serverFiles}/fleet-cache-credentials.sh report-map ${cfg.reportSecretFile} ${reportHostsFile} ${runtimeDir}/report-tokens.map"
          "${pkgs.bash}/bin/sh ${serverFiles}/fleet-cache-credentials.sh writers ${cfg.writersFile} ${runtimeDir}/writers.htpasswd"
        ];
      };
    };

    services.nginx = {
      enable = true;
      # The map's keys, "Bearer " and 64 hex digits, do not fit nginx's default buckets.
      mapHashBucketSize = lib.mkDefault 128;
      appendHttpConfig = nginxConfig "nginx-http.conf";
      virtualHosts.${cfg.serverName} = {
        root = cfg.root;
        extraConfig = nginxConfig "nginx-server.conf";
      };
    };

    # NixOS runs nginx with ProtectSystem=strict: the cache root is its one writable directory.
    systemd.services.nginx.serviceConfig.ReadWritePaths = [ cfg.root ];
  };
}
