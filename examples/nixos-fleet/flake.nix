{
  description = "A NixOS fleet deployed with fleet: copy this directory to start your own fleet repository";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    # fleet's NixOS modules (the pull agent); the actions are referenced from workflows instead.
    fleet = {
      url = "github:fleet-nix/fleet/v1";
      flake = false;
    };
  };

  outputs = { self, nixpkgs, fleet }:
    let
      lib = nixpkgs.lib;
      # One file per host in ./hosts (common.nix is shared); the inventory (fleet.yaml) names the same hosts.
      hostNames = map (lib.removeSuffix ".nix") (lib.filter (name: name != "common.nix" && lib.hasSuffix ".nix" name) (builtins.attrNames (builtins.readDir ./hosts)));
      systemOf = name: if name == "api" then "aarch64-linux" else "x86_64-linux";
    in
    {
      nixosConfigurations = lib.genAttrs hostNames (name: lib.nixosSystem {
        system = systemOf name;
        specialArgs = { inherit self; };
        modules = [
          "${fleet}/host/nixos/fleet-agent.nix"
          ./hosts/common.nix
          ./hosts/${name}.nix
          { networking.hostName = name; }
        ];
      });

      # NixOS VM tests action-build runs with `checks: vm-*`.
      checks.x86_64-linux.vm-web = nixpkgs.legacyPackages.x86_64-linux.testers.runNixOSTest {
        name = "vm-web";
        nodes.web = { imports = [ ./hosts/common.nix ./hosts/web1.nix ]; };
        testScript = ''
          web.wait_for_unit("nginx.service")
          web.wait_for_open_port(80)
          web.succeed("curl -fsS http://localhost/ | grep -q fleet")
        '';
      };
    };
}
