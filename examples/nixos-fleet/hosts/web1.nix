# A web server reached over SSH (deploy method ssh in fleet.yaml).
{ ... }:
{
  services.nginx = {
    enable = true;
    virtualHosts.default.locations."/".return = "200 'deployed by fleet'";
  };
  networking.firewall.allowedTCPPorts = [ 80 ];
}
