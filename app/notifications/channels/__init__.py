"""Notification channels: one module per provider behind the interface in base.py (CamCOPS keeps its exporters so).

Personal channels reach one person at an address they verified in their profile (SMS, WeCom app message);
group channels reach a school's or a hospital's duty group set up by the admin (WeCom and DingTalk group
robots, a signed webhook). SMS goes through the provider named by SMS_PROVIDER (aliyun or tencent).
"""
import importlib

from app.notifications.channels.base import Channel, Message, Result, Target
from app.notifications.channels.dingtalk_robot import DingTalkRobot
from app.notifications.channels.webhook import Webhook
from app.notifications.channels.wecom_app import WeComApp
from app.notifications.channels.wecom_robot import WeComRobot

# The SMS SDKs take ~0.7 s to import (aiohttp and friends): loaded on first use, not by every process at start.
SMS_PROVIDERS = {"aliyun": ("app.notifications.channels.aliyun_sms", "AliyunSms"),
                 "tencent": ("app.notifications.channels.tencent_sms", "TencentSms")}
PERSONAL_KINDS = ("sms", "wecom_app")
GROUP_KINDS = ("wecom_robot", "dingtalk_robot", "webhook")
GROUP_CHANNELS = {"wecom_robot": WeComRobot, "dingtalk_robot": DingTalkRobot, "webhook": Webhook}

__all__ = ["Channel", "Message", "Result", "Target", "PERSONAL_KINDS", "GROUP_KINDS", "channel_for", "personal_available"]


def channel_for(kind: str, config) -> Channel | None:
    """The channel that sends `kind` under this configuration; None when the deployment has not set it up."""
    if kind == "sms":
        provider = SMS_PROVIDERS.get((config.get("SMS_PROVIDER") or "").lower())
        channel = getattr(importlib.import_module(provider[0]), provider[1])(config) if provider else None
    elif kind == "wecom_app":
        channel = WeComApp(config)
    elif kind in GROUP_CHANNELS:
        channel = GROUP_CHANNELS[kind](config)
    else:
        return None
    return channel if channel is not None and channel.configured() else None


def personal_available(config) -> list[str]:
    """The personal channels this deployment offers its staff (SMS and WeCom, when configured)."""
    return [kind for kind in PERSONAL_KINDS if channel_for(kind, config) is not None]
