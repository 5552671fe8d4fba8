"""multilane: the Pulumi program's building blocks.

Pure modules (stackname, params, naming, regions) decide; layer modules
(infra, ...) declare resources. Data flows one way: stack name -> Target ->
params -> names -> resources -> outputs.
"""
