# What every host of the fleet shares: the binary cache fleet pushes to, and SSH for the deployer.
{ lib, ... }:
{
  nix.settings = {
    experimental-features = [ "nix-command" "flakes" ];
    substituters = [ "https://cache.example.org" ];
    # The public half of the key action-build signs with (signing-key input).
    trusted-public-keys = [ "cache.example.org-1:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg=" ];
  };

  services.openssh = {
    enable = true;
    settings.PasswordAuthentication = false;
  };
  # The deploy key of action-deploy (ssh-private-key input).
  users.users.root.openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetDeployKeyExampleOnlyReplaceMe fleet-deploy" ];

  boot.loader.grub.device = lib.mkDefault "nodev";
  fileSystems."/" = lib.mkDefault { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
  system.stateVersion = "24.11";
}
