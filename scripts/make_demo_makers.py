"""Write data/demo_makers.csv: about 200 FICTIONAL local makers and shops for the demo.

Usage: python scripts/make_demo_makers.py

The makers, their descriptions, websites (on the reserved .example TLD) and phone numbers
are invented; the streets are real streets of Bordeaux, Nantes, Nancy and Paris, each
with the postcode of its quarter (arrondissement in Paris) and an approximate point on
it. Every maker is placed near one of those points (a few tens of metres off, so that
two makers of the same street do not overlap). The output is deterministic.

The CSV follows PRODUCT.md §5 (makers import format).
"""

from __future__ import annotations

import csv
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "data" / "demo_makers.csv"
SEED = 20240917
FIELDS = [
    "id",
    "name",
    "category",
    "description",
    "latitude",
    "longitude",
    "address",
    "postcode",
    "city",
    "website",
    "phone",
]


@dataclass(frozen=True)
class Street:
    name: str  # as written after the number: "rue Sainte-Catherine"
    postcode: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class City:
    slug: str  # in ids: demo-<slug>-001
    name: str
    count: int
    phone_prefixes: tuple[str, ...]  # the first three pairs of digits, "05 36 49"
    streets: tuple[Street, ...]


S = Street
CITIES = (
    City(
        "bdx",
        "Bordeaux",
        60,
        ("05 36 49",),
        (
            S("rue Sainte-Catherine", "33000", 44.8392, -0.5740),
            S("rue Sainte-Catherine", "33000", 44.8345, -0.5735),
            S("cours de l'Intendance", "33000", 44.8417, -0.5785),
            S("rue des Remparts", "33000", 44.8390, -0.5790),
            S("rue du Pas-Saint-Georges", "33000", 44.8396, -0.5718),
            S("rue Saint-James", "33000", 44.8370, -0.5712),
            S("rue Notre-Dame", "33000", 44.8530, -0.5718),
            S("cours Portal", "33000", 44.8522, -0.5748),
            S("rue Bouffard", "33000", 44.8385, -0.5795),
            S("rue Judaïque", "33000", 44.8425, -0.5905),
            S("rue de la Porte-Dijeaux", "33000", 44.8400, -0.5770),
            S("rue Fondaudège", "33000", 44.8495, -0.5830),
            S("rue du Loup", "33000", 44.8375, -0.5765),
            S("rue de Saint-Genès", "33000", 44.8270, -0.5820),
            S("cours de l'Argonne", "33000", 44.8270, -0.5760),
            S("rue Leyteire", "33000", 44.8340, -0.5700),
            S("place des Capucins", "33800", 44.8310, -0.5670),
            S("rue Camille-Sauvageau", "33800", 44.8325, -0.5660),
            S("cours de la Somme", "33800", 44.8285, -0.5715),
            S("cours de l'Yser", "33800", 44.8275, -0.5688),
            S("rue de Bègles", "33800", 44.8235, -0.5680),
            S("avenue Thiers", "33100", 44.8433, -0.5530),
            S("rue de la Benauge", "33100", 44.8405, -0.5570),
            S("avenue Louis-Barthou", "33200", 44.8495, -0.6100),
            S("rue Stéhelin", "33200", 44.8540, -0.6165),
            S("cours Balguerie-Stuttenberg", "33300", 44.8575, -0.5685),
            S("rue Camille-Godard", "33300", 44.8560, -0.5780),
        ),
    ),
    City(
        "nte",
        "Nantes",
        50,
        ("02 61 91",),
        (
            S("rue Crébillon", "44000", 47.2135, -1.5620),
            S("rue du Calvaire", "44000", 47.2150, -1.5625),
            S("rue de la Marne", "44000", 47.2160, -1.5525),
            S("rue Kervégan", "44000", 47.2122, -1.5555),
            S("rue de la Juiverie", "44000", 47.2150, -1.5535),
            S("rue Scribe", "44000", 47.2125, -1.5622),
            S("rue Mercœur", "44000", 47.2175, -1.5590),
            S("rue Paul-Bellamy", "44000", 47.2240, -1.5575),
            S("rue Saint-Clément", "44000", 47.2195, -1.5475),
            S("rue de Verdun", "44000", 47.2175, -1.5525),
            S("rue du Maréchal-Joffre", "44000", 47.2228, -1.5435),
            S("rue Jean-Jaurès", "44000", 47.2180, -1.5605),
            S("rue Racine", "44000", 47.2130, -1.5680),
            S("rue Léon-Blum", "44000", 47.2155, -1.5700),
            S("rue d'Allonville", "44000", 47.2215, -1.5430),
            S("place Jean-Macé", "44100", 47.2098, -1.5855),
            S("boulevard Saint-Aignan", "44100", 47.2100, -1.5770),
            S("boulevard Léon-Bureau", "44200", 47.2048, -1.5640),
            S("boulevard Victor-Hugo", "44200", 47.2015, -1.5540),
            S("boulevard des Poilus", "44300", 47.2300, -1.5300),
            S("route de Saint-Joseph", "44300", 47.2430, -1.5220),
        ),
    ),
    City(
        "ncy",
        "Nancy",
        40,
        ("03 53 01",),
        (
            S("Grande Rue", "54000", 48.6965, 6.1795),
            S("rue Saint-Dizier", "54000", 48.6905, 6.1830),
            S("rue Saint-Jean", "54000", 48.6905, 6.1800),
            S("rue des Dominicains", "54000", 48.6925, 6.1830),
            S("rue Stanislas", "54000", 48.6925, 6.1800),
            S("rue Gambetta", "54000", 48.6928, 6.1785),
            S("rue Saint-Georges", "54000", 48.6920, 6.1860),
            S("rue des Ponts", "54000", 48.6880, 6.1840),
            S("rue des Maréchaux", "54000", 48.6946, 6.1810),
            S("rue Héré", "54000", 48.6948, 6.1830),
            S("avenue Foch", "54000", 48.6908, 6.1690),
            S("rue Jeanne-d'Arc", "54000", 48.6820, 6.1770),
            S("rue Saint-Nicolas", "54000", 48.6880, 6.1860),
            S("rue Raymond-Poincaré", "54000", 48.6890, 6.1720),
            S("rue de la Commanderie", "54000", 48.6875, 6.1700),
            S("rue Pierre-Fourier", "54000", 48.6940, 6.1860),
            S("rue du Haut-Bourgeois", "54000", 48.6975, 6.1770),
        ),
    ),
    City(
        "par",
        "Paris",
        50,
        ("01 99 00",),
        (
            S("rue Saint-Honoré", "75001", 48.8625, 2.3390),
            S("rue Montorgueil", "75002", 48.8662, 2.3470),
            S("rue de Bretagne", "75003", 48.8630, 2.3620),
            S("rue Charlot", "75003", 48.8625, 2.3640),
            S("rue Vieille-du-Temple", "75003", 48.8612, 2.3590),
            S("rue des Rosiers", "75004", 48.8572, 2.3590),
            S("rue Mouffetard", "75005", 48.8425, 2.3500),
            S("rue Monge", "75005", 48.8440, 2.3530),
            S("rue du Cherche-Midi", "75006", 48.8490, 2.3260),
            S("rue de Seine", "75006", 48.8545, 2.3370),
            S("rue Cler", "75007", 48.8565, 2.3035),
            S("rue des Martyrs", "75009", 48.8790, 2.3395),
            S("rue du Faubourg-Saint-Denis", "75010", 48.8730, 2.3545),
            S("rue de Marseille", "75010", 48.8710, 2.3630),
            S("rue de Lancry", "75010", 48.8705, 2.3610),
            S("rue Oberkampf", "75011", 48.8650, 2.3720),
            S("rue de Charonne", "75011", 48.8540, 2.3800),
            S("rue de la Roquette", "75011", 48.8560, 2.3760),
            S("rue Keller", "75011", 48.8550, 2.3760),
            S("avenue Daumesnil", "75012", 48.8480, 2.3750),
            S("rue d'Aligre", "75012", 48.8490, 2.3780),
            S("rue de la Butte-aux-Cailles", "75013", 48.8275, 2.3500),
            S("rue Daguerre", "75014", 48.8340, 2.3290),
            S("rue d'Alésia", "75014", 48.8290, 2.3200),
            S("rue du Commerce", "75015", 48.8465, 2.2950),
            S("rue des Dames", "75017", 48.8850, 2.3200),
            S("rue Legendre", "75017", 48.8860, 2.3160),
            S("rue des Abbesses", "75018", 48.8845, 2.3380),
            S("rue Caulaincourt", "75018", 48.8885, 2.3350),
            S("rue Ramey", "75018", 48.8890, 2.3475),
            S("avenue Secrétan", "75019", 48.8800, 2.3735),
            S("rue de Ménilmontant", "75020", 48.8685, 2.3900),
            S("rue des Pyrénées", "75020", 48.8640, 2.3990),
            S("rue de Bagnolet", "75020", 48.8580, 2.4020),
        ),
    ),
)

# (name, category, description): all invented.
MAKERS: tuple[tuple[str, str, str], ...] = (
    # clothing
    (
        "Atelier Fil d'Ariane",
        "clothing",
        "Couturière formée à la haute couture, Ariane coupe des robes et des blouses en petites séries dans des tissus de fins de rouleaux. Retouches et ajustements sur rendez-vous.",
    ),
    (
        "La Fabrique des Étoffes",
        "clothing",
        "Des vestes de travail et des pantalons robustes, taillés dans de la toile de coton bio et du moleskine. Chaque pièce est numérotée et réparable à vie.",
    ),
    (
        "Maison Lin & Chanvre",
        "clothing",
        "Chemises, tuniques et pantalons amples en lin et en chanvre cultivés en France, teints avec des plantes.",
    ),
    (
        "Les Coutures de Margot",
        "clothing",
        "Margot transforme les vêtements qui dorment dans vos placards : une robe trop grande devient jupe, un vieux jean devient short. Ateliers d'initiation à la couture le samedi.",
    ),
    (
        "Atelier Point Mousse",
        "clothing",
        "Pulls, gilets et bonnets tricotés à la main avec de la laine de brebis locale, filée et lavée sans produits chimiques.",
    ),
    (
        "Laine Bouclette",
        "clothing",
        "Petit atelier de tricot à la machine rectiligne : chaussettes, snoods et pulls sans couture latérale. La laine vient d'un élevage voisin.",
    ),
    (
        "L'Étoffe Sauvage",
        "clothing",
        "Vêtements pour enfants cousus dans des chutes de tissus d'ameublement et des draps anciens, pensés pour grandir avec eux grâce à des ourlets réglables.",
    ),
    (
        "Atelier Patron Minute",
        "clothing",
        "Créatrice de patrons de couture imprimés sur papier recyclé et de kits prêts à coudre. On peut venir coudre sur place avec les machines de l'atelier.",
    ),
    (
        "Brins d'Indigo",
        "clothing",
        "Teinturier artisan à l'indigo naturel : il redonne des couleurs aux vêtements délavés et crée des pièces uniques en shibori.",
    ),
    (
        "La Boutonnière",
        "clothing",
        "Chemiserie sur mesure pour hommes et femmes, avec des cols et des poignets remplaçables pour prolonger la vie de chaque chemise.",
    ),
    (
        "Cousu Main Atelier",
        "clothing",
        "Manteaux et cabans en laine bouillie, entièrement montés à la main, du patronage à la dernière boutonnière.",
    ),
    (
        "Le Vestiaire Recousu",
        "clothing",
        "Friperie et atelier de retouches réunis : chaque vêtement de seconde main est vérifié, réparé et ajusté avant d'être proposé.",
    ),
    (
        "Atelier Seconde Peau",
        "clothing",
        "Lingerie et maillots de bain cousus dans des tissus recyclés à partir de filets de pêche. Tailles du 34 au 56.",
    ),
    (
        "Maille & Merveilles",
        "clothing",
        "Deux sœurs tricotent des layettes et des couvertures pour nouveau-nés en coton bio, sur commande et dans les couleurs choisies.",
    ),
    (
        "Les Petites Mains Vertes",
        "clothing",
        "Atelier d'insertion qui confectionne des tabliers, des vestes de cuisine et des tenues de travail pour les artisans du quartier.",
    ),
    (
        "Atelier Zéro Chute",
        "clothing",
        "Une styliste qui dessine ses modèles pour utiliser tout le métrage du tissu, sans aucune chute. Collections courtes, deux fois par an.",
    ),
    (
        "Denim Revival",
        "clothing",
        "Jeans reconditionnés et vestes en denim recomposées à partir de vieux pantalons. Réparation des entrejambes et des poches en vingt-quatre heures.",
    ),
    (
        "Mademoiselle Ourlet",
        "clothing",
        "Retoucheuse de quartier depuis quinze ans : ourlets, fermetures éclair, reprises invisibles et mises à taille.",
    ),
    (
        "La Chemiserie du Passage",
        "clothing",
        "Chemises en popeline et en oxford coupées à la main, avec un service de remplacement des cols usés.",
    ),
    (
        "Atelier Coton Rebelle",
        "clothing",
        "T-shirts et sweats en coton biologique, imprimés à la main en sérigraphie avec des encres à l'eau.",
    ),
    (
        "Les Tisserandes",
        "clothing",
        "Collectif de tisserandes qui tissent sur des métiers à bras des étoffes pour écharpes, châles et vestes.",
    ),
    (
        "Tricot Bazar",
        "clothing",
        "Boutique-atelier de laines locales et de vêtements tricotés. Cafés tricot le mercredi soir, ouverts aux débutants.",
    ),
    (
        "Atelier Lin Bleu",
        "clothing",
        "Robes d'été et chemises de nuit en lin lavé, cousues en petites quantités pour éviter tout invendu.",
    ),
    (
        "L'Upcyclerie",
        "clothing",
        "Vêtements neufs fabriqués à partir de vêtements usés collectés dans le quartier : chaque pièce est unique et porte l'histoire de ses tissus.",
    ),
    (
        "La Friperie Recousue",
        "clothing",
        "Sélection de vêtements vintage des années 60 à 90, nettoyés et réparés sur place. Dépôt-vente possible.",
    ),
    (
        "Bobine & Ciseaux",
        "clothing",
        "Costumes de scène et déguisements cousus main pour les compagnies de théâtre, les écoles et les particuliers.",
    ),
    (
        "Atelier Piqûre Sellier",
        "clothing",
        "Vestes et blousons en cuir réalisés au point sellier à partir de peaux issues de l'industrie alimentaire.",
    ),
    (
        "Les Chemises de Basile",
        "clothing",
        "Basile coud des chemises pour enfants dans les chemises trop usées des parents. Envoyez-lui la vôtre, il vous renvoie une petite chemise.",
    ),
    # accessories
    (
        "Sacs Nomades",
        "accessories",
        "Sacs à dos et sacoches de vélo cousus dans de la toile de bâche et des ceintures de sécurité récupérées.",
    ),
    (
        "La Maroquinerie de Jeanne",
        "accessories",
        "Jeanne fabrique des portefeuilles, des porte-cartes et des ceintures en cuir tanné végétal, cousus entièrement à la main.",
    ),
    (
        "Atelier Cuir Tanné",
        "accessories",
        "Maroquinier installé en atelier partagé : sacs besace, étuis à lunettes et bracelets de montre sur mesure.",
    ),
    (
        "Bretelles & Compagnie",
        "accessories",
        "Bretelles, nœuds papillon et pochettes fabriqués en série limitée avec des tissus anciens chinés.",
    ),
    (
        "Les Chapeaux de Lili",
        "accessories",
        "Modiste, Lili façonne des chapeaux en feutre et en paille sur des formes en bois. Elle remet aussi en forme les chapeaux abîmés.",
    ),
    (
        "Ceinture Sauvage",
        "accessories",
        "Ceintures et laisses pour chiens taillées dans des chutes de cuir de sellerie, avec des boucles en laiton massif.",
    ),
    (
        "L'Atelier du Sellier",
        "accessories",
        "Sellier-harnacheur qui applique les techniques de la sellerie équestre à des sacs de ville et des cartables durables.",
    ),
    (
        "Parapluies d'Antan",
        "accessories",
        "Fabrication et réparation de parapluies : baleines remplacées, toiles changées, poignées en bois tourné.",
    ),
    (
        "Atelier Toile de Voile",
        "accessories",
        "Cabas, trousses et sacs de plage coupés dans de vieilles voiles de bateaux, chacun avec ses marques et ses numéros.",
    ),
    (
        "Besaces & Cabas",
        "accessories",
        "Sacs de courses et besaces tissés et cousus dans du chanvre, pensés pour remplacer définitivement les sacs jetables.",
    ),
    (
        "Le Nœud Papillon",
        "accessories",
        "Nœuds papillon, cravates et lavallières cousus dans des coupons de soie et de laine, à nouer soi-même.",
    ),
    (
        "Atelier Liège & Co",
        "accessories",
        "Portefeuilles, sacs et bracelets en tissu de liège, une matière végétale récoltée sans abattre l'arbre.",
    ),
    (
        "Chaussons de Suzanne",
        "accessories",
        "Chaussons en cuir souple et en laine feutrée pour toute la famille, avec des semelles remplaçables.",
    ),
    (
        "Cabas Recyclés",
        "accessories",
        "Sacs tressés à partir de sacs plastique et de bâches publicitaires collectés auprès des commerces voisins.",
    ),
    (
        "Les Écharpes d'Hiver",
        "accessories",
        "Écharpes, mitaines et bonnets tissés ou tricotés en alpaga et en mohair, teints avec des plantes.",
    ),
    (
        "Atelier Bandoulière",
        "accessories",
        "Sangles d'appareil photo, bandoulières de guitare et porte-clés fabriqués à partir de chutes de cuir et de sangles.",
    ),
    (
        "Ganterie Lacroix",
        "accessories",
        "Gants en cuir d'agneau coupés et cousus à la main selon la tradition de la ganterie française. Mesure possible en boutique.",
    ),
    (
        "La Pochette Rebrodée",
        "accessories",
        "Pochettes du soir et sacs à main brodés de perles et de fils anciens, sur des bases de sacs chinés.",
    ),
    (
        "Atelier Chambre à Air",
        "accessories",
        "Ceintures, trousses et sacoches fabriquées avec des chambres à air de vélo et de camion récupérées.",
    ),
    (
        "Les Barrettes de Rose",
        "accessories",
        "Barrettes, peignes et chouchous faits à la main en acétate de cellulose et en chutes de tissu.",
    ),
    (
        "Lunettes en Bois Flotté",
        "accessories",
        "Montures de lunettes de soleil taillées dans des essences de bois locales, ajustées par un opticien partenaire.",
    ),
    (
        "Atelier Tote & Trousse",
        "accessories",
        "Sacs et trousses en toile de coton épaisse, sérigraphiés à la main avec des motifs dessinés dans le quartier.",
    ),
    # jewellery
    (
        "Atelier Lune d'Argent",
        "jewellery",
        "Bagues et boucles d'oreilles en argent recyclé, martelées et polies à la main dans un atelier ouvert sur la rue.",
    ),
    (
        "Bijoux Galet",
        "jewellery",
        "Pendentifs et colliers sertis de galets et de verres polis par la mer, ramassés sur les plages de l'Atlantique.",
    ),
    (
        "L'Orfèvre du Passage",
        "jewellery",
        "Orfèvre qui refond vos vieux bijoux en or pour créer des alliances et des bagues sur mesure.",
    ),
    (
        "Or Recyclé Atelier",
        "jewellery",
        "Joaillerie en or recyclé et pierres de récupération, avec une traçabilité de chaque matériau.",
    ),
    (
        "Les Bijoux de Capucine",
        "jewellery",
        "Capucine fabrique des colliers et des bracelets en perles de verre filées au chalumeau.",
    ),
    (
        "Atelier Fil d'Or",
        "jewellery",
        "Bijoux en fil de laiton et de cuivre tissé, légers et colorés, faits à la main pièce par pièce.",
    ),
    (
        "Corne & Laiton",
        "jewellery",
        "Bijoux en corne de vache issue de l'élevage et en laiton brut, sciés, limés et polis à la main.",
    ),
    (
        "La Petite Forge à Bijoux",
        "jewellery",
        "Atelier de bijouterie où l'on vient fabriquer sa propre bague en argent en une après-midi, accompagné d'une bijoutière.",
    ),
    (
        "Émaux & Merveilles",
        "jewellery",
        "Médailles et broches en émail sur cuivre, cuites au four à émailler selon la technique du champlevé.",
    ),
    (
        "Atelier Grain de Sable",
        "jewellery",
        "Bijoux délicats en argent massif inspirés des coquillages et des grains de sable, réalisés à la cire perdue.",
    ),
    (
        "Bagues de Traverse",
        "jewellery",
        "Bagues taillées dans des couverts anciens en métal argenté chinés en brocante. Chaque pièce garde son poinçon.",
    ),
    (
        "Boucles Buissonnières",
        "jewellery",
        "Boucles d'oreilles en céramique et en bois peint, légères et hypoallergéniques grâce à des crochets en titane.",
    ),
    (
        "Atelier Opaline",
        "jewellery",
        "Bijoux en verre recyclé fondu au four, du bleu de bouteille à l'ambre, montés sur argent.",
    ),
    (
        "Les Éclats de Verre",
        "jewellery",
        "Colliers et pendentifs en vitrail, assemblés au cuivre et à l'étain à partir de chutes de verre d'art.",
    ),
    (
        "Cuivre & Sel",
        "jewellery",
        "Bijoux en cuivre patiné au sel et au vinaigre, puis vernis pour garder leurs reflets verts et bleus.",
    ),
    (
        "Atelier Perle Rare",
        "jewellery",
        "Réenfilage de colliers de perles, réparation de fermoirs et transformation de bijoux de famille.",
    ),
    (
        "Bijoux Brindille",
        "jewellery",
        "Bijoux en argent moulés sur de vraies brindilles, feuilles et graines ramassées en forêt.",
    ),
    (
        "L'Établi Précieux",
        "jewellery",
        "Bijoutier-joaillier réparateur : mise à taille de bagues, ressertissage de pierres et polissage.",
    ),
    (
        "Atelier Argent Massif",
        "jewellery",
        "Chevalières et gourmettes gravées à la main, en argent massif issu de filières recyclées.",
    ),
    (
        "La Graine d'Ambre",
        "jewellery",
        "Colliers de graines, de bois et d'ambre enfilés à la main, sans plastique ni colle.",
    ),
    (
        "Ondine Créations",
        "jewellery",
        "Bijoux en macramé et pierres semi-précieuses, noués à la main avec du fil ciré.",
    ),
    (
        "Atelier Poinçon",
        "jewellery",
        "Petite bijouterie de création : alliances martelées, bagues de fiançailles et bijoux de naissance en or recyclé.",
    ),
    # furniture
    (
        "Atelier Lune de Bois",
        "furniture",
        "Ébéniste qui fabrique des tables et des bibliothèques en chêne et en noyer issus de forêts gérées durablement.",
    ),
    (
        "Ébénisterie du Chêne Vert",
        "furniture",
        "Meubles sur mesure assemblés sans vis ni colle, par tenons et mortaises, finis à l'huile et à la cire.",
    ),
    (
        "Les Meubles Retrouvés",
        "furniture",
        "Commodes, buffets et armoires chinés, restaurés et relookés à la peinture à la caséine.",
    ),
    (
        "La Menuiserie Solidaire",
        "furniture",
        "Menuiserie d'insertion qui fabrique du mobilier à partir de bois de chantier et de palettes.",
    ),
    (
        "Atelier Chevron",
        "furniture",
        "Parquets anciens récupérés et transformés en plateaux de table, têtes de lit et étagères.",
    ),
    (
        "Bois Flotté & Cie",
        "furniture",
        "Lampes, miroirs et portemanteaux en bois flotté ramassé le long des fleuves et de l'océan.",
    ),
    (
        "Le Tapissier du Coin",
        "furniture",
        "Réfection de fauteuils et de canapés dans les règles de l'art : crin, ressorts ensachés et tissus d'éditeurs.",
    ),
    (
        "L'Atelier du Rotin",
        "furniture",
        "Fauteuils et chaises en rotin et en osier réparés, recannés et renforcés.",
    ),
    (
        "Chaises Paillées Martin",
        "furniture",
        "Rempailleur de père en fils : paille de seigle, jonc de mer et cordes tressées pour chaises anciennes.",
    ),
    (
        "Atelier Noyer & Frêne",
        "furniture",
        "Tabourets, bancs et petites tables tournés et assemblés avec des bois de la région.",
    ),
    (
        "Les Planches de Léon",
        "furniture",
        "Léon récupère les bois de démolition pour fabriquer des meubles de cuisine et des plans de travail.",
    ),
    (
        "Ébéniste Colin",
        "furniture",
        "Restauration de meubles anciens : marqueterie, placage et vernis au tampon.",
    ),
    (
        "Atelier Mortaise",
        "furniture",
        "Lits, bureaux et étagères modulables pour enfants, conçus pour évoluer avec l'âge.",
    ),
    (
        "La Fabrique à Tabourets",
        "furniture",
        "Tabourets et chaises hautes en hêtre massif, assemblés à la main et vendus en kit sans vis.",
    ),
    (
        "Restaure & Patine",
        "furniture",
        "Décapage, patine et relooking de meubles avec des produits sans solvants.",
    ),
    (
        "Atelier Marqueterie Fine",
        "furniture",
        "Marqueteuse qui crée des plateaux et des boîtes en bois précieux de récupération.",
    ),
    (
        "Les Étagères Voyageuses",
        "furniture",
        "Étagères murales et meubles démontables en contreplaqué, pensés pour les déménagements fréquents.",
    ),
    (
        "Atelier Bois de Récup",
        "furniture",
        "Bancs, bacs à plantes et mobilier de jardin fabriqués en bois de récupération non traité.",
    ),
    (
        "Le Cannage de Louise",
        "furniture",
        "Louise canne et recanne les chaises, fauteuils et têtes de lit, en cannage traditionnel ou en rosace.",
    ),
    (
        "Atelier Console & Buffet",
        "furniture",
        "Mobilier contemporain en acier et bois massif, soudé et assemblé dans un atelier de quartier.",
    ),
    # games
    (
        "La Malle aux Jeux",
        "games",
        "Jeux de société en bois fabriqués à la main : échecs, dames, solitaires et jeux de plateau oubliés.",
    ),
    (
        "Atelier Toupie",
        "games",
        "Toupies, yoyos et bilboquets tournés dans des bois locaux, peints à la peinture à l'eau.",
    ),
    (
        "Les Jouets de Basile",
        "games",
        "Voitures, trains et animaux à tirer en bois massif, sans vernis toxique, pour les tout-petits.",
    ),
    (
        "Le Dé Rieur",
        "games",
        "Créateur de jeux de société édités en petites séries et imprimés en France sur carton recyclé.",
    ),
    (
        "Atelier Cerf-Volant",
        "games",
        "Cerfs-volants cousus main en toile de spi récupérée, et stages de fabrication pour les enfants.",
    ),
    (
        "Puzzles du Grenier",
        "games",
        "Puzzles en bois découpés à la scie à chantourner à partir d'illustrations d'artistes locaux.",
    ),
    (
        "Quilles & Billes",
        "games",
        "Jeux d'adresse et jeux de plein air en bois : quilles finlandaises, palets et jeux de billes.",
    ),
    (
        "Le Petit Bilboquet",
        "games",
        "Jouets anciens restaurés et revendus : poupées, trains électriques et jeux de construction.",
    ),
    (
        "Atelier Marionnettes Fil à Fil",
        "games",
        "Marionnettes à fils et à gaine sculptées et habillées à la main, ainsi que des petits théâtres en bois.",
    ),
    (
        "Les Pions Voyageurs",
        "games",
        "Jeux de voyage compacts en bois et en tissu, faciles à glisser dans une poche.",
    ),
    (
        "Jeux d'Antan",
        "games",
        "Reproductions de jeux traditionnels : jeu de l'oie, mancala, awalé et jeux de dés médiévaux.",
    ),
    (
        "L'Arche en Bois",
        "games",
        "Jeux d'éveil Montessori fabriqués en hêtre et en tilleul, poncés et huilés à la main.",
    ),
    (
        "Domino Atelier",
        "games",
        "Dominos, mikados et jeux de construction réalisés avec des chutes de bois d'une menuiserie voisine.",
    ),
    (
        "Le Cheval à Bascule",
        "games",
        "Chevaux à bascule et porteurs en bois, fabriqués sur commande et réparés pour durer plusieurs générations.",
    ),
    (
        "Les Mécanos de Jules",
        "games",
        "Jeux de construction mécaniques en métal récupéré, avec des plans pour fabriquer des machines qui bougent.",
    ),
    (
        "La Ludothèque du Coin",
        "games",
        "Boutique de jeux d'occasion vérifiés et complétés pièce par pièce, avec un coin pour jouer sur place.",
    ),
    # cosmetics
    (
        "Savonnerie de la Lune",
        "cosmetics",
        "Savons saponifiés à froid avec des huiles végétales bio et des argiles, séchés quatre semaines avant la vente.",
    ),
    (
        "Les Savons de Célestine",
        "cosmetics",
        "Célestine fabrique des savons au lait d'ânesse et au miel d'un apiculteur voisin.",
    ),
    (
        "Atelier Lavande & Argile",
        "cosmetics",
        "Masques à l'argile, poudres nettoyantes et eaux florales distillées dans un alambic en cuivre.",
    ),
    (
        "Le Pain de Savon",
        "cosmetics",
        "Savons et shampoings solides vendus au poids, sans emballage, à découper selon l'envie.",
    ),
    (
        "Cosmétiques Sève",
        "cosmetics",
        "Crèmes, baumes et sérums formulés avec peu d'ingrédients, conditionnés dans des pots en verre consignés.",
    ),
    (
        "Huiles & Fleurs",
        "cosmetics",
        "Macérats huileux de fleurs de calendula, de millepertuis et d'arnica pour les soins de la peau.",
    ),
    (
        "Savonnerie du Lavoir",
        "cosmetics",
        "Lessive au savon de Marseille, savon noir et pierres d'argile pour l'entretien de la maison et du linge.",
    ),
    (
        "Atelier Shampoing Solide",
        "cosmetics",
        "Shampoings et après-shampoings solides adaptés à chaque type de cheveux, testés sur des volontaires.",
    ),
    (
        "La Fabrique à Baumes",
        "cosmetics",
        "Baumes à lèvres, baumes pour les mains et déodorants en stick à la cire d'abeille, dans des tubes en carton.",
    ),
    (
        "Rose & Calendula",
        "cosmetics",
        "Cosmétiques pour bébés et peaux sensibles, sans parfum ajouté, fabriqués en petites séries.",
    ),
    (
        "L'Herbier Cosmétique",
        "cosmetics",
        "Herboriste qui cultive ses plantes et prépare des huiles de soin, des hydrolats et des tisanes beauté.",
    ),
    (
        "Mousse & Mousseline",
        "cosmetics",
        "Savons artisanaux et lingettes démaquillantes lavables en mousseline de coton bio.",
    ),
    (
        "Les Onguents d'Émilie",
        "cosmetics",
        "Émilie prépare des onguents, des huiles de massage et des sels de bain à partir de recettes anciennes.",
    ),
    (
        "Savonnerie des Tilleuls",
        "cosmetics",
        "Savons surgras à l'huile d'olive et au beurre de karité issus du commerce équitable.",
    ),
    (
        "Atelier Miel & Avoine",
        "cosmetics",
        "Soins doux au miel, à l'avoine et au lait pour les peaux sèches, fabriqués dans un laboratoire de quartier.",
    ),
    (
        "Le Flacon Vert",
        "cosmetics",
        "Boutique de cosmétiques en vrac : venez remplir vos flacons de gel douche, de crème et d'huile.",
    ),
    (
        "Argile Rouge Atelier",
        "cosmetics",
        "Masques, gommages et dentifrices en poudre à base d'argiles françaises et de plantes séchées.",
    ),
    (
        "Les Parfums du Jardin",
        "cosmetics",
        "Parfumeuse qui compose des eaux de toilette et des parfums solides à partir d'essences naturelles.",
    ),
    (
        "Barbier & Blaireau",
        "cosmetics",
        "Savons à barbe, huiles et baumes pour la barbe, blaireaux et rasoirs de sûreté rechargeables.",
    ),
    (
        "La Savonnière Nomade",
        "cosmetics",
        "Savonnière qui anime des ateliers de fabrication de savons et de cosmétiques maison.",
    ),
    # home
    (
        "Atelier Terre & Feu",
        "home",
        "Céramiste qui tourne des bols, des assiettes et des tasses en grès, cuits au four à bois deux fois par an.",
    ),
    (
        "Poteries du Jardin",
        "home",
        "Pots de fleurs, jardinières et oyas d'arrosage en terre cuite modelés à la main.",
    ),
    (
        "Céramiques Écume",
        "home",
        "Vaisselle en porcelaine aux émaux bleus et verts, inspirés de la mer et des marées.",
    ),
    (
        "Atelier Mèche Douce",
        "home",
        "Bougies en cire de colza et de soja coulées dans des pots récupérés, parfumées aux huiles essentielles.",
    ),
    (
        "Vannerie Osier Vivant",
        "home",
        "Vannier qui tresse des paniers, des corbeilles et des hottes avec l'osier de sa propre oseraie.",
    ),
    (
        "Les Tissages de Camille",
        "home",
        "Plaids, tapis et coussins tissés sur métier à bras en laine et en coton recyclé.",
    ),
    (
        "Linge de Maison Blanchet",
        "home",
        "Draps, torchons et nappes en lin lavé, brodés à la demande de vos initiales.",
    ),
    (
        "Atelier Verre Soufflé",
        "home",
        "Verres, carafes et vases soufflés à la canne dans un four alimenté en verre recyclé.",
    ),
    (
        "La Tasse Ébréchée",
        "home",
        "Vaisselle ancienne dépareillée réparée au kintsugi, la technique japonaise de réparation à la laque et à l'or.",
    ),
    (
        "Luminaires Récup",
        "home",
        "Lampes et suspensions fabriquées à partir d'objets détournés : passoires, bouteilles et pièces de machines.",
    ),
    (
        "Atelier Grès & Émail",
        "home",
        "Cours de poterie et vaisselle en grès émaillé, tournée et cuite sur place.",
    ),
    (
        "Le Torchon Bavard",
        "home",
        "Torchons, tabliers et sacs à pain imprimés en linogravure avec des expressions d'ici.",
    ),
    (
        "Atelier Macramé & Fibres",
        "home",
        "Suspensions pour plantes, tentures murales et sets de table en macramé de coton recyclé.",
    ),
    (
        "Les Faïences de Rosalie",
        "home",
        "Rosalie peint à la main des carreaux de faïence, des assiettes et des plats sur commande.",
    ),
    (
        "Bougies de Cire d'Abeille",
        "home",
        "Bougies moulées et roulées en pure cire d'abeille, issues des ruches d'apiculteurs locaux.",
    ),
    (
        "Atelier Papier Peint Main",
        "home",
        "Papiers peints imprimés à la planche en bois, avec des encres végétales, en petites séries.",
    ),
    (
        "L'Atelier des Abat-Jour",
        "home",
        "Création et rénovation d'abat-jour sur mesure dans le tissu de votre choix.",
    ),
    (
        "Coussins & Compagnie",
        "home",
        "Coussins, poufs et galettes de chaise garnis de laine et de balle d'épeautre, housses lavables.",
    ),
    (
        "La Vaisselle Voyageuse",
        "home",
        "Vaisselle de seconde main triée et vendue au poids, idéale pour les colocations et les fêtes.",
    ),
    (
        "Atelier Sérigraphie Papier",
        "home",
        "Affiches, cartes et calendriers sérigraphiés à la main sur papier recyclé.",
    ),
    (
        "Les Paniers de Mathilde",
        "home",
        "Paniers de marché et corbeilles tressées en jonc, en paille de seigle et en rotin.",
    ),
    (
        "Tapis Tissés Main",
        "home",
        "Tapis tissés à partir de vieux draps et de t-shirts découpés en lanières, dans toutes les tailles.",
    ),
    (
        "L'Atelier du Vitrail",
        "home",
        "Maître verrier qui crée et restaure vitraux, lampes Tiffany et suspensions en verre coloré.",
    ),
    (
        "Éponges & Tawashi",
        "home",
        "Éponges lavables tricotées, tawashis et essuie-tout en tissu pour une cuisine sans jetable.",
    ),
    # repair
    (
        "Atelier Vélo Remis en Selle",
        "repair",
        "Atelier vélo participatif : on vous prête les outils et on vous apprend à réparer votre vélo vous-même.",
    ),
    (
        "Le Cordonnier d'à Côté",
        "repair",
        "Cordonnier traditionnel : ressemelage cuir et gomme, patins, talons et teinture de chaussures.",
    ),
    (
        "Retouches Express Aiguille",
        "repair",
        "Retouches et réparations de vêtements en quarante-huit heures : ourlets, zips, doublures et reprises.",
    ),
    (
        "Clinique du Smartphone",
        "repair",
        "Réparation d'écrans, de batteries et de connecteurs de téléphones et de tablettes, avec des pièces garanties.",
    ),
    (
        "L'Horloger Réparateur",
        "repair",
        "Horloger qui révise les montres mécaniques, les pendules et les réveils anciens.",
    ),
    (
        "Recyclerie Électro",
        "repair",
        "Électroménager reconditionné et garanti un an, et réparation de vos appareils en panne.",
    ),
    (
        "Atelier Deuxième Vie",
        "repair",
        "Réparation de petits appareils électriques : grille-pain, aspirateurs, cafetières et lampes.",
    ),
    (
        "Le Rémouleur",
        "repair",
        "Affûtage de couteaux, ciseaux, outils de jardin et lames de rabot, à l'atelier ou sur le marché.",
    ),
    (
        "Cordonnerie Talon Aiguille",
        "repair",
        "Cordonnerie et maroquinerie : réparation de sacs, de ceintures, de fermetures et de chaussures de ville.",
    ),
    (
        "Répar'Tout",
        "repair",
        "Petit atelier multiservice : électronique, électroménager, petites réparations de meubles et de jouets.",
    ),
    (
        "L'Atelier des Machines à Coudre",
        "repair",
        "Réparation, réglage et révision de machines à coudre et de surjeteuses, toutes marques.",
    ),
    (
        "Vélos & Rustines",
        "repair",
        "Vente de vélos d'occasion révisés et réparation rapide de crevaisons, de freins et de dérailleurs.",
    ),
    (
        "Réparation Électroménager Volt",
        "repair",
        "Technicien indépendant qui répare lave-linge, lave-vaisselle et fours plutôt que de les remplacer.",
    ),
    (
        "La Retoucherie",
        "repair",
        "Retouches, transformations et réparations de vêtements, y compris le cuir et les vêtements techniques.",
    ),
    (
        "Atelier Informatique Ressource",
        "repair",
        "Ordinateurs reconditionnés sous logiciels libres et réparation de portables, à prix solidaires.",
    ),
    (
        "Jouets Réparés",
        "repair",
        "Réparation de jouets en bois, de peluches et de poupées, et remise en état de jouets électroniques.",
    ),
    (
        "Le Luthier du Faubourg",
        "repair",
        "Luthier qui entretient et répare guitares, violons et instruments à cordes, et fabrique des ukulélés.",
    ),
    (
        "L'Atelier Rustine",
        "repair",
        "Réparation de vêtements techniques de montagne : doudounes, vestes imperméables et sacs de couchage.",
    ),
    (
        "Horlogerie Le Balancier",
        "repair",
        "Réparation et entretien de montres, changement de piles et de bracelets, restauration d'horloges comtoises.",
    ),
    (
        "Café Bricole",
        "repair",
        "Un samedi sur deux, des bénévoles aident à réparer gratuitement vos objets cassés autour d'un café.",
    ),
    # food
    (
        "Brasserie La Houblonnière",
        "food",
        "Microbrasserie qui brasse des bières artisanales avec de l'orge et du houblon cultivés en France.",
    ),
    (
        "Miellerie des Toits",
        "food",
        "Apiculteur urbain qui installe ses ruches sur les toits de la ville et vend son miel toutes fleurs.",
    ),
    (
        "La Torréfaction du Coin",
        "food",
        "Torréfacteur artisanal : cafés de petits producteurs, torréfiés chaque semaine et vendus en vrac.",
    ),
    (
        "Fromagerie La Meule",
        "food",
        "Fromager affineur qui travaille directement avec des fermes laitières de la région.",
    ),
    (
        "Boulangerie au Levain Paysan",
        "food",
        "Pains au levain naturel pétris avec des farines de blés anciens moulues sur meule de pierre.",
    ),
    (
        "Les Confitures de Josette",
        "food",
        "Confitures, gelées et chutneys cuits en chaudron de cuivre avec des fruits de vergers voisins.",
    ),
    (
        "Chocolaterie Fève & Cacao",
        "food",
        "Chocolatier qui fabrique son chocolat à partir des fèves de cacao, de la torréfaction à la tablette.",
    ),
    (
        "Le Potager Urbain",
        "food",
        "Maraîcher urbain qui cultive légumes et herbes aromatiques en pleine ville et vend sa récolte le samedi.",
    ),
    (
        "Biscuiterie Sablé Doré",
        "food",
        "Biscuits et sablés au beurre cuits chaque matin, vendus au poids dans vos boîtes.",
    ),
    (
        "Les Champignons de la Cave",
        "food",
        "Pleurotes et shiitakés cultivés dans une ancienne cave, sur du marc de café récupéré.",
    ),
    (
        "La Conserverie Solidaire",
        "food",
        "Conserverie qui transforme en soupes, sauces et bocaux les fruits et légumes invendus des marchés.",
    ),
    (
        "Épicerie Vrac Le Grain",
        "food",
        "Épicerie sans emballage : céréales, légumineuses, huiles et produits d'entretien à remplir soi-même.",
    ),
    (
        "Cidrerie Pomme d'Api",
        "food",
        "Cidres et jus de pommes pressés à partir de variétés anciennes de vergers non traités.",
    ),
    (
        "Fumoir des Halles",
        "food",
        "Poissons et viandes fumés au bois de hêtre, selon des méthodes artisanales.",
    ),
    (
        "Limonaderie Pétillante",
        "food",
        "Limonades, sirops et ginger beer fabriqués avec des fruits frais et du sucre de canne bio.",
    ),
    (
        "Pâtes Fraîches Nonna Rosa",
        "food",
        "Pâtes fraîches et raviolis faits main chaque jour avec des œufs de poules élevées en plein air.",
    ),
    (
        "Kombucha Maison Bulle",
        "food",
        "Kombucha et kéfirs de fruits fermentés sur place, vendus en bouteilles consignées.",
    ),
    (
        "Thés & Infusions Herbier",
        "food",
        "Tisanes et mélanges de plantes cultivées et séchées par une productrice, vendus en vrac.",
    ),
    (
        "Glacier Fruits Givrés",
        "food",
        "Glaces et sorbets préparés avec des fruits de saison et du lait d'une ferme voisine.",
    ),
    (
        "La Fournée du Quartier",
        "food",
        "Boulangerie-pâtisserie bio qui donne ses invendus du soir à une association du quartier.",
    ),
    # other
    (
        "Atelier Reliure Papier Vivant",
        "other",
        "Relieuse qui restaure les livres anciens et fabrique des carnets cousus main en papier recyclé.",
    ),
    (
        "L'Imprimerie Typographique",
        "other",
        "Imprimerie à caractères mobiles en plomb : faire-part, cartes de visite et affiches en tirage limité.",
    ),
    (
        "Sérigraphie Encre Verte",
        "other",
        "Atelier de sérigraphie qui imprime textiles et affiches avec des encres à base d'eau.",
    ),
    (
        "Atelier Photo Argentique",
        "other",
        "Laboratoire photo argentique : développement de films, tirages sur papier baryté et initiations.",
    ),
    (
        "La Ressourcerie du Quartier",
        "other",
        "Ressourcerie qui collecte, trie et revend à petit prix meubles, livres, vaisselle et vêtements.",
    ),
    (
        "Fleurs Séchées Atelier Sauvage",
        "other",
        "Bouquets et couronnes de fleurs séchées cultivées sans pesticides, et ateliers d'art floral.",
    ),
    (
        "Calligraphie & Plume",
        "other",
        "Calligraphe qui réalise faire-part, menus et enseignes à la plume, et donne des cours.",
    ),
    (
        "Graines Libres",
        "other",
        "Grainothèque et pépinière de quartier : semences paysannes reproductibles, plants et boutures.",
    ),
)

CATEGORIES = {
    "clothing",
    "accessories",
    "jewellery",
    "furniture",
    "games",
    "cosmetics",
    "home",
    "food",
    "repair",
    "other",
}


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("&", " et "))
    ascii_text = ascii_text.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def phone(rng: random.Random, prefix: str) -> str:
    # ARCEP reserves these regional ranges for fiction: no real person can be called.
    return f"{prefix} {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}"


def build() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    if sum(city.count for city in CITIES) != len(MAKERS):
        raise SystemExit("the cities' counts must add up to the number of makers")
    # Deal the makers, grouped by category, to the cities in proportion to their counts,
    # so that every city gets its share of each category.
    by_category = sorted(MAKERS, key=lambda maker: (maker[1], rng.random()))
    seats = sorted(
        ((seat + 0.5) / city.count, position)
        for position, city in enumerate(CITIES)
        for seat in range(city.count)
    )
    dealt: list[list[tuple[str, str, str]]] = [[] for _ in CITIES]
    for maker, (_, position) in zip(by_category, seats, strict=True):
        dealt[position].append(maker)
    rows: list[dict[str, str]] = []
    for city, makers in zip(CITIES, dealt, strict=True):
        rng.shuffle(makers)
        streets = list(city.streets)
        rng.shuffle(streets)
        for index, (name, category, description) in enumerate(makers, start=1):
            street = streets[(index - 1) % len(streets)]
            latitude = street.latitude + rng.uniform(-0.0004, 0.0004)
            longitude = street.longitude + rng.uniform(-0.0005, 0.0005)
            rows.append(
                {
                    "id": f"demo-{city.slug}-{index:03d}",
                    "name": name,
                    "category": category,
                    "description": description,
                    "latitude": f"{latitude:.6f}",
                    "longitude": f"{longitude:.6f}",
                    "address": f"{rng.randint(1, 80)} {street.name}",
                    "postcode": street.postcode,
                    "city": city.name,
                    "website": f"https://{slugify(name)}.example" if rng.random() < 0.5 else "",
                    "phone": phone(rng, rng.choice(city.phone_prefixes))
                    if rng.random() < 0.5
                    else "",
                }
            )
    return rows


def main() -> None:
    unknown = {category for _, category, _ in MAKERS} - CATEGORIES
    if unknown:
        raise SystemExit(f"unknown categories: {unknown}")
    rows = build()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with OUTPUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} makers -> {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
