{
  description = "Example NixOS fleet for the fleet actions: seven hosts, no inputs, builds offline in seconds";

  outputs = { self }:
    let
      system = "x86_64-linux";
      pkgs = import ./lib/packages.nix { inherit system; };
      mkSystem = import ./lib/mkSystem.nix {
        inherit system pkgs;
        switchToConfiguration = ./lib/switch-to-configuration.sh;
      };

      # Write another string to variant.txt and every host gets a new system (tests use this for
      # "the next generation").
      variant =
        let
          text = if builtins.pathExists ./variant.txt then builtins.readFile ./variant.txt else "";
          trimmed = builtins.match "[[:space:]]*([^[:space:]](.*[^[:space:]])?)[[:space:]]*" text;
        in
        if trimmed == null then "1" else builtins.head trimmed;

      hosts = with pkgs; {
        gateway = { packages = [ haproxy wireguard-tools ]; };
        web1 = { packages = [ nginx ]; };
        web2 = { packages = [ nginx ]; };
        db1 = { packages = [ postgresql ]; siteKiB = 384; };
        monitor = { packages = [ prometheus grafana ]; };
        clinic-kin = { packages = [ wireguard-tools rsync ]; };
        clinic-bamako = { packages = [ wireguard-tools rsync ]; };
      };
    in
    {
      nixosConfigurations = builtins.mapAttrs (hostName: host: mkSystem ({ inherit hostName variant; } // host)) hosts;

      checks.${system} = import ./lib/checks.nix { inherit system; inherit (self) nixosConfigurations; };
    };
}
