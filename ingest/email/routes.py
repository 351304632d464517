"""HTTP transport of the email adapter."""

from fastapi import APIRouter

router = APIRouter()
