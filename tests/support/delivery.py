"""Delivery data for tests: a small version of load_demo's areas."""

from __future__ import annotations

from dataclasses import dataclass

from shop.models import DeliveryArea, DeliveryKind, DeliveryOption, PickupPoint

L = DeliveryArea.Level


@dataclass
class Areas:
    burkina: DeliveryArea
    ouaga: DeliveryArea
    secteur15: DeliveryArea
    secteur30: DeliveryArea
    bobo: DeliveryArea
    dakar: DeliveryArea
    plateau: DeliveryArea
    home_ouaga: DeliveryOption
    home_s15: DeliveryOption
    pickup_ouaga: DeliveryOption
    home_dakar: DeliveryOption
    pickup_dakar: DeliveryOption
    point_ouaga: PickupPoint
    point_dakar: PickupPoint


def area(name: str, level: str, country: str, parent=None) -> DeliveryArea:
    return DeliveryArea.objects.create(name=name, level=level, country=country, parent=parent)


def option(area_, kind=DeliveryKind.HOME, fee=1000, **extra) -> DeliveryOption:
    values = {"delay_min": 1, "delay_max": 2}
    values.update(extra)
    return DeliveryOption.objects.create(area=area_, kind=kind, fee=fee, **values)


def make_areas() -> Areas:
    """Burkina (Ouagadougou: two sectors, one with its own rate; Bobo with
    none) and Senegal (Dakar, Plateau), a pickup point in each capital."""
    burkina = area("Burkina Faso", L.COUNTRY, "BF")
    ouaga = area("Ouagadougou", L.CITY, "BF", burkina)
    secteur15 = area("Secteur 15", L.DISTRICT, "BF", ouaga)
    secteur30 = area("Secteur 30", L.DISTRICT, "BF", ouaga)
    bobo = area("Bobo-Dioulasso", L.CITY, "BF", burkina)
    dakar = area("Dakar", L.CITY, "SN")
    plateau = area("Plateau", L.DISTRICT, "SN", dakar)
    return Areas(
        burkina=burkina,
        ouaga=ouaga,
        secteur15=secteur15,
        secteur30=secteur30,
        bobo=bobo,
        dakar=dakar,
        plateau=plateau,
        home_ouaga=option(
            ouaga,
            fee=1500,
            free_over=200_000,
            delay_min=1,
            delay_max=2,
            cod_allowed=True,
            cod_max=300_000,
        ),
        home_s15=option(secteur15, fee=1000, delay_min=0, delay_max=1),
        pickup_ouaga=option(ouaga, kind=DeliveryKind.PICKUP, fee=0, delay_min=1, delay_max=1),
        home_dakar=option(dakar, fee=2000, delay_min=1, delay_max=3),
        pickup_dakar=option(dakar, kind=DeliveryKind.PICKUP, fee=0, cod_allowed=True),
        point_ouaga=PickupPoint.objects.create(
            area=secteur30,
            name="Boutique Ashtech Ouaga 2000",
            address="Avenue Kwame Nkrumah",
            landmark="près de la pharmacie du Progrès",
            hours="Lun–Sam 8 h–19 h",
            phone="+22625300000",
        ),
        point_dakar=PickupPoint.objects.create(
            area=plateau, name="Relais Plateau", address="Rue Carnot", hours="8 h–18 h"
        ),
    )
