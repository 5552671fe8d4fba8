"""multilane's CrossGuard policy pack (pulumi-policy) and its offline runner.

``pulumi preview --policy-pack policy`` runs the pack through the engine
(``__main__.py``); ``python -m policy.audit`` (``make policy``) runs the same
policies over every example stack recorded by the offline harness
(``adapter.py``). Policy modules only define policies: importing them
registers nothing and starts no server.
"""
