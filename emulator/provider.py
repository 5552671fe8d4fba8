"""The emulated AWS provider: Pulumi's provider gRPC protocol over the emulator.

The real engine loads ``pulumi-resource-aws`` (emulator/plugin.py), which
hands it the address of this service, served by the sandbox process
(emulator/server.py) next to moto. Every resource call goes to the same
handlers as the moto test tier (``@emulates`` in this package): one
emulator, two front ends.

What it does, per RPC:
- CheckConfig/DiffConfig/Configure: the region of each provider instance
  (one gRPC connection each) comes from its config; no secrets or preview
  outputs are accepted, so the engine sends plain values and treats every
  computed output as unknown during preview.
- Check: the inputs as given; a type with no emulation fails by name.
- Diff: compares new inputs with the old ones; a change is an update in
  place where the handler has one and the input is not in its
  ``replace_on``, else a replacement (the engine then creates the new one
  before deleting the old one).
- Create/Update/Delete: the handler, through boto3, against moto.
- Read (refresh): the stored state while moto still describes the
  resource, else gone.
- Invoke: the data sources the layers call (``Emulator.invoke``).
Anything else answers UNIMPLEMENTED with the RPC's name.
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from .core import REGION, EmulationError, Emulator, UnemulatedTypeError, changed_keys, replacing

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown-value sentinel


def aws_plugin_version() -> str:
    """The version the installed pulumi_aws asks the engine for (its pulumi-plugin.json)."""
    meta = json.loads(resources.files("pulumi_aws").joinpath("pulumi-plugin.json").read_text())
    return str(meta["version"])


def to_dict(struct: struct_pb2.Struct | None) -> dict[str, Any]:
    return json_format.MessageToDict(struct) if struct is not None else {}


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


class EmulatedAwsProvider(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.version = aws_plugin_version()
        self._regions: dict[str, str] = {}  # gRPC peer (one per provider instance) -> region
        self._lock = threading.Lock()

    def _region(self, context: Any) -> str:
        with self._lock:
            return self._regions.get(context.peer(), self.emulator.default_region or REGION)

    def _abort(self, context: Any, code: grpc.StatusCode, message: str) -> Any:
        context.abort(code, message)

    # --- plugin and configuration -------------------------------------------

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return plugin_pb2.PluginInfo(version=self.version)

    def Handshake(self, request: Any, context: Any) -> Any:
        return provider_pb2.ProviderHandshakeResponse(accept_secrets=False, accept_resources=False)

    def Attach(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()

    def GetSchema(self, request: Any, context: Any) -> Any:
        return self._abort(
            context, grpc.StatusCode.UNIMPLEMENTED, "the emulated AWS provider has no schema (GetSchema)"
        )

    def CheckConfig(self, request: Any, context: Any) -> Any:
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: Any) -> Any:
        olds, news = to_dict(request.olds), to_dict(request.news)
        changed = changed_keys(olds, news)
        kind = provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE
        return provider_pb2.DiffResponse(changes=kind, diffs=changed)

    def Configure(self, request: Any, context: Any) -> Any:
        args = to_dict(request.args) if request.HasField("args") else {}
        region = args.get("region") or request.variables.get("aws:config:region") or ""
        if region and region != UNKNOWN:
            with self._lock:
                self._regions[context.peer()] = region
        return provider_pb2.ConfigureResponse(acceptSecrets=False, supportsPreview=False, acceptResources=False)

    # --- resources -------------------------------------------------------------

    def Check(self, request: Any, context: Any) -> Any:
        from . import HANDLERS

        type_ = request.type or request.urn.split("::")[-2].split("$")[-1]
        if type_ not in HANDLERS:
            return self._abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the emulated AWS provider has no emulation for resource type {type_} ({name_of(request.urn)})",
            )
        return provider_pb2.CheckResponse(inputs=request.news)

    def Diff(self, request: Any, context: Any) -> Any:
        olds = to_dict(request.old_inputs) if request.HasField("old_inputs") else to_dict(request.olds)
        news = to_dict(request.news)
        ignored = set(request.ignoreChanges)
        changed = [k for k in changed_keys(olds, news) if k not in ignored]
        if not changed:
            return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)
        type_ = request.type or request.urn.split("::")[-2].split("$")[-1]
        replaces = replacing(self.emulator.known(type_, request.id), changed)
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME, diffs=changed, replaces=replaces, deleteBeforeReplace=False
        )

    def Create(self, request: Any, context: Any) -> Any:
        type_ = request.type or request.urn.split("::")[-2].split("$")[-1]
        inputs = to_dict(request.properties)
        if request.preview:
            return provider_pb2.CreateResponse(id="", properties=request.properties)
        try:
            id_, state = self.emulator.create(type_, name_of(request.urn), inputs, self._region(context))
        except UnemulatedTypeError as err:
            return self._abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(err))
        except Exception as err:
            return self._abort(context, grpc.StatusCode.UNKNOWN, f"creating {type_} {name_of(request.urn)}: {err}")
        return provider_pb2.CreateResponse(id=id_, properties=to_struct(state))

    def Update(self, request: Any, context: Any) -> Any:
        type_ = request.type or request.urn.split("::")[-2].split("$")[-1]
        if request.preview:
            return provider_pb2.UpdateResponse(properties=request.news)
        try:
            state = self.emulator.update(
                type_, request.id, name_of(request.urn), to_dict(request.news), self._region(context)
            )
        except EmulationError as err:
            return self._abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(err))
        except Exception as err:
            return self._abort(context, grpc.StatusCode.UNKNOWN, f"updating {type_} {name_of(request.urn)}: {err}")
        return provider_pb2.UpdateResponse(properties=to_struct(state))

    def Delete(self, request: Any, context: Any) -> Any:
        type_ = request.type or request.urn.split("::")[-2].split("$")[-1]
        try:
            self.emulator.delete(type_, request.id)
        except Exception as err:
            return self._abort(context, grpc.StatusCode.UNKNOWN, f"deleting {type_} {name_of(request.urn)}: {err}")
        return empty_pb2.Empty()

    def Read(self, request: Any, context: Any) -> Any:
        type_ = request.type or request.urn.split("::")[-2].split("$")[-1]
        if not self.emulator.exists(type_, request.id):
            return provider_pb2.ReadResponse(id="")
        entry = self.emulator.known(type_, request.id)
        assert entry is not None
        return provider_pb2.ReadResponse(id=request.id, properties=to_struct(entry.state), inputs=request.inputs)

    def Invoke(self, request: Any, context: Any) -> Any:
        try:
            answer = self.emulator.invoke(request.tok, self._region(context))
        except UnemulatedTypeError as err:
            return self._abort(context, grpc.StatusCode.UNIMPLEMENTED, str(err))
        return provider_pb2.InvokeResponse(**{"return": to_struct(answer)})

    def Cancel(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()
