# A clinic behind NAT on a poor link: it pulls its system (deploy method pull in fleet.yaml).
{ ... }:
{
  services.fleet-agent = {
    enable = true;
    host = "clinic-kin";
    environment = "production";
    storeUrl = "https://cache.example.org";
    # The public half of action-deploy's manifest-signing-key.
    manifestPublicKeys = [ "fleet-manifest-1:ZmxlZXRNYW5pZmVzdEtleUV4YW1wbGVPbmx5UmVwbGFjZU1lPQ==" ];
    reportTokenFile = "/run/keys/fleet-report-token";
    allowReboot = true;
    rebootWindow = { lower = "01:00"; upper = "05:00"; };
    healthChecks.ssh = "systemctl is-active sshd";
  };
}
