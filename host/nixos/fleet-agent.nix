# NixOS module for fleet's pull agent (host/agent/fleet-agent.sh; see host/agent/README.md).
#
#   imports = [ "${fleet}/host/nixos/fleet-agent.nix" ];
#   services.fleet-agent = {
#     enable = true;
#     environment = "production";
#     storeUrl = "https://cache.example.org";
#     manifestPublicKeys = [ "fleet-manifest-1:…=" ];
#     substituters = [ "https://cache.example.org" ];
#     trustedPublicKeys = [ "cache.example.org-1:…=" ];
#     reportTokenFile = "/run/keys/fleet-report-token";
#     rebootWindow = { lower = "01:00"; upper = "05:00"; };
#     healthChecks.web = "curl -fsS --max-time 5 http://127.0.0.1/healthz";
#     metrics.prometheus.enable = true;   # fleet.prom for node_exporter's textfile collector
#     metrics.zabbix.enable = true;       # flat JSON for Zabbix agent2's vfs.file.contents
#   };
#
# A timer runs the agent every `interval` (plus a random delay, so a fleet does not hit the cache
# at once); `systemctl start fleet-agent` runs it by hand.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.fleet-agent;
  # The agent and the shell library it sources, as they lie in host/.
  agentFiles = builtins.path {
    name = "fleet-agent";
    path = ./..;
    filter = path: type: builtins.any (dir: lib.hasPrefix (toString ./.. + "/${dir}") (toString path)) [ "agent" "lib" ];
  };
  inherit (lib) mkEnableOption mkIf mkOption types concatStringsSep mapAttrs' nameValuePair optionalAttrs;

  # Directories the agent writes metrics to (after every run, through a temporary file beside the file).
  metricsDirs =
    (if cfg.metrics.prometheus.enable then [ cfg.metrics.prometheus.directory ] else [ ])
    ++ (if cfg.metrics.zabbix.enable then [ (dirOf cfg.metrics.zabbix.path) ] else [ ]);

  windowType = types.submodule {
    options = {
      lower = mkOption { type = types.strMatching "[012][[:digit:]]:[0-5][[:digit:]]"; example = "01:00"; description = "Start of the window, local time."; };
      upper = mkOption { type = types.strMatching "[012][[:digit:]]:[0-5][[:digit:]]"; example = "05:00"; description = "End of the window, local time."; };
    };
  };
  windowText = window: "${window.lower}-${window.upper}";

  healthCheckScripts = mapAttrs' (name: command:
    nameValuePair "fleet-agent/health-checks/${name}" {
      source = pkgs.writeShellScript "fleet-health-check-${name}" command;
    }) cfg.healthChecks;
in
{
  options.services.fleet-agent = {
    enable = mkEnableOption "fleet's pull agent, which converges this host to the manifest action-deploy publishes for it";

    host = mkOption {
      type = types.strMatching "[A-Za-z0-9][A-Za-z0-9._-]*";
      default = config.networking.hostName;
      defaultText = lib.literalExpression "config.networking.hostName";
      description = "This host's name in the fleet inventory.";
    };

    environment = mkOption {
      type = types.strMatching "[A-Za-z0-9][A-Za-z0-9._-]*";
      example = "production";
      description = "The inventory environment the host belongs to; manifests for another environment are refused.";
    };

    storeUrl = mkOption {
      type = types.str;
      example = "https://cache.example.org";
      description = ''
        The store action-deploy writes manifests to, as Nix and curl read it (HTTPS, a public-read
        S3 bucket's HTTPS URL, or file://). The agent reads fleet/<environment>/<host>.json there.
      '';
    };

    mirrors = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "http://cache.clinic.lan" "file:///media/fleet" ];
      description = ''
        More stores holding the manifests, asked before storeUrl, in order: a site cache on the LAN,
        a copy of the store on a mounted disk. The newest manifest any of them has wins and is
        checked exactly as from storeUrl; a mirror that is behind is passed over. Reports still go to
        storeUrl. List them in substituters too for the closure to come from them.
      '';
    };

    manifestPublicKeys = mkOption {
      type = types.nonEmptyListOf types.str;
      example = [ "fleet-manifest-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=" ];
      description = "Public halves of action-deploy's manifest-signing-key (Nix key format). Give two while rotating.";
    };

    substituters = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Caches the system closure is fetched from; empty: nix.conf's substituters.";
    };

    trustedPublicKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Keys the closure must be signed with; empty: nix.conf's trusted-public-keys.";
    };

    reportUrl = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://cache.example.org/fleet/status/clinic-kin.json";
      description = "Where the status report is PUT; default: <storeUrl>/fleet/status/<host>.json.";
    };

    reportTokenFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/run/keys/fleet-report-token";
      description = ''
        A root-only file holding this host's bearer token for the report upload (not a path in the
        Nix store: the store is world-readable). Null: upload without credentials.
      '';
    };

    interval = mkOption {
      type = types.str;
      default = "15min";
      description = "How often the agent runs (systemd time span, OnUnitActiveSec).";
    };

    randomizedDelay = mkOption {
      type = types.str;
      default = "10min";
      description = "Random delay added to every run (RandomizedDelaySec), so hosts do not all fetch at once.";
    };

    healthChecks = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = { web = "curl -fsS --max-time 5 http://127.0.0.1/healthz"; };
      description = ''
        Shell commands run after a switch (each in /etc/fleet-agent/health-checks); any failure
        restores the previous system. They are the new system's checks: /etc is switched first.
      '';
    };

    healthCheckTimeout = mkOption {
      type = types.ints.positive;
      default = 60;
      description = "Seconds each health check may take.";
    };

    switchTimeout = mkOption {
      type = types.ints.positive;
      default = 1800;
      description = "Seconds switch-to-configuration may take.";
    };

    allowReboot = mkOption {
      type = types.bool;
      default = false;
      description = "Reboot by itself when the running kernel, initrd or modules are not the current system's (in rebootWindow).";
    };

    activationWindow = mkOption {
      type = types.nullOr windowType;
      default = null;
      example = { lower = "22:00"; upper = "05:00"; };
      description = ''
        When a new system may be switched to (local time; it may span midnight). Closures are
        fetched at any time; a fetched system waits for the window, and the status report says so.
        A manifest deployed with action-deploy's activate-now skips it. Null: any time.
      '';
    };

    runTimeout = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "2d";
      description = ''
        Longest one run of the agent may take (systemd TimeoutStartSec), fetching included. Null: no
        limit, so a download over a poor link may take days (switch-to-configuration keeps its own
        switchTimeout); an interrupted one continues where it stopped on the next run.
      '';
    };

    bandwidthLimit = mkOption {
      type = types.nullOr (types.strMatching "[1-9][0-9]*[kKmMgG]?");
      default = null;
      example = "200k";
      description = "Bytes per second the agent may use for fetching a closure, on average over the run (1024-based, as curl's --limit-rate: 200k, 1m). Null: no limit.";
    };

    proxy = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "http://proxy.example.org:3128";
      description = ''
        An HTTP proxy for everything the agent fetches and uploads (curl and Nix read http_proxy,
        https_proxy and no_proxy). Null: the unit's environment as it is.
      '';
    };

    noProxy = mkOption {
      type = types.listOf types.str;
      default = [ "localhost" "127.0.0.1" ];
      description = "Hosts reached without the proxy (no_proxy), for example a site cache on the LAN.";
    };

    rebootWindow = mkOption {
      type = types.nullOr windowType;
      default = null;
      description = "When reboots (the manifest's `reboot` action, or allowReboot) may happen; null: any time.";
    };

    metrics = {
      prometheus = {
        enable = mkEnableOption "a node_exporter textfile (fleet.prom) written after every run (metrics: host/agent/README.md)";
        directory = mkOption {
          type = types.strMatching "/.+";
          default = "/var/lib/prometheus-node-exporter/text-files";
          description = ''
            node_exporter's textfile directory; the agent writes fleet.prom there (and, with
            configureNodeExporter, points NixOS's node exporter at it).
          '';
        };
        configureNodeExporter = mkOption {
          type = types.bool;
          default = true;
          description = ''
            Add --collector.textfile.directory=<directory> to services.prometheus.exporters.node.extraFlags,
            so NixOS's node exporter (services.prometheus.exporters.node.enable) serves fleet.prom. Turn it
            off when you pass that flag yourself: node_exporter refuses it twice.
          '';
        };
      };
      zabbix = {
        enable = mkEnableOption "a flat JSON file of the same facts, for Zabbix agent2's vfs.file.contents and JSONPath preprocessing";
        path = mkOption {
          type = types.strMatching "/.+";
          default = "/var/lib/fleet-agent-metrics/zabbix.json";
          description = "Where the agent writes the Zabbix JSON (world-readable, so the Zabbix agent's user can read it).";
        };
      };
    };
  };

  config = mkIf cfg.enable {
    environment.etc = healthCheckScripts;

    # Created if missing, never changed if there (a directory another service owns keeps its owner and mode).
    systemd.tmpfiles.rules = map (dir: "d ${dir} - - - -") metricsDirs;

    services.prometheus.exporters.node.extraFlags = mkIf (cfg.metrics.prometheus.enable && cfg.metrics.prometheus.configureNodeExporter) [
      "--collector.textfile.directory=${cfg.metrics.prometheus.directory}"
    ];

    systemd.services.fleet-agent = {
      description = "fleet pull agent: converge to this host's signed manifest";
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      # The agent runs switch-to-configuration itself: a switch must never stop or restart it.
      restartIfChanged = false;
      stopIfChanged = false;
      unitConfig.X-StopOnRemoval = false;
      path = [ pkgs.coreutils pkgs.curl config.nix.package config.systemd.package ];
      environment = {
        FLEET_AGENT_HOST = cfg.host;
        FLEET_AGENT_ENVIRONMENT = cfg.environment;
        FLEET_AGENT_STORE_URL = cfg.storeUrl;
        FLEET_AGENT_MANIFEST_KEYS = concatStringsSep " " cfg.manifestPublicKeys;
        FLEET_AGENT_MIRRORS = concatStringsSep " " cfg.mirrors;
        FLEET_AGENT_SUBSTITUTERS = concatStringsSep " " cfg.substituters;
        FLEET_AGENT_TRUSTED_PUBLIC_KEYS = concatStringsSep " " cfg.trustedPublicKeys;
        FLEET_AGENT_STATE_DIR = "/var/lib/fleet-agent";
        FLEET_AGENT_HEALTH_CHECKS_DIR = "/etc/fleet-agent/health-checks";
        FLEET_AGENT_HEALTH_CHECK_TIMEOUT = toString cfg.healthCheckTimeout;
        FLEET_AGENT_SWITCH_TIMEOUT = toString cfg.switchTimeout;
        FLEET_AGENT_ALLOW_REBOOT = lib.boolToString cfg.allowReboot;
      }
      // optionalAttrs (cfg.reportUrl != null) { FLEET_AGENT_REPORT_URL = cfg.reportUrl; }
      // optionalAttrs (cfg.reportTokenFile != null) { FLEET_AGENT_REPORT_TOKEN_FILE = cfg.reportTokenFile; }
      // optionalAttrs (cfg.rebootWindow != null) { FLEET_AGENT_REBOOT_WINDOW = windowText cfg.rebootWindow; }
      // optionalAttrs (cfg.activationWindow != null) { FLEET_AGENT_ACTIVATION_WINDOW = windowText cfg.activationWindow; }
      // optionalAttrs (cfg.bandwidthLimit != null) { FLEET_AGENT_BANDWIDTH_LIMIT = cfg.bandwidthLimit; }
      // optionalAttrs (cfg.proxy != null) {
        http_proxy = cfg.proxy;
        https_proxy = cfg.proxy;
        no_proxy = concatStringsSep "," cfg.noProxy;
      }
      // optionalAttrs cfg.metrics.prometheus.enable { FLEET_AGENT_METRICS_PROMETHEUS_DIR = cfg.metrics.prometheus.directory; }
      // optionalAttrs cfg.metrics.zabbix.enable { FLEET_AGENT_METRICS_ZABBIX_FILE = cfg.metrics.zabbix.path; };
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${pkgs.bash}/bin/sh ${agentFiles}/agent/fleet-agent.sh run";
        StateDirectory = "fleet-agent";
        StateDirectoryMode = "0700";
        PrivateTmp = true;
        # Fetching a closure over a poor link may take days; the switch has its own limit.
        TimeoutStartSec = if cfg.runTimeout == null then "infinity" else cfg.runTimeout;
      }
      # Writable even under a stricter ProtectSystem added by an override; "-": a missing directory
      # must not keep the agent from deploying (it logs that it could not write the file).
      // optionalAttrs (metricsDirs != [ ]) { ReadWritePaths = map (dir: "-${dir}") metricsDirs; };
    };

    systemd.timers.fleet-agent = {
      description = "Run fleet's pull agent regularly";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnBootSec = "2min";
        OnUnitActiveSec = cfg.interval;
        RandomizedDelaySec = cfg.randomizedDelay;
        AccuracySec = "1min";
      };
    };
  };
}
