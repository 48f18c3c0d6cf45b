# The hosts of a fleet inventory (fleet.yaml, read through yq) that get a report token: those
# deployed by pull (their own deploy.method, else defaults.deploy.method, else ssh), one a line.
(.defaults.deploy.method // "ssh") as $default
| .hosts // {} | to_entries[]
| select((.value.deploy.method // $default) == "pull")
| .key
