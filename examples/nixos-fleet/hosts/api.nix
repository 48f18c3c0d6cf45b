# A stateless API server in an Auto Scaling group on AWS Graviton (deploy method aws-asg in fleet.yaml).
{ modulesPath, ... }:
{
  imports = [ "${modulesPath}/virtualisation/amazon-image.nix" ];
  services.nginx = {
    enable = true;
    virtualHosts.default.locations."/healthz".return = "200 ok";
  };
  networking.firewall.allowedTCPPorts = [ 80 ];
}
